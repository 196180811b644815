package main

import (
	"context"
	"crypto/tls"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skywasm/skywasm/internal/testcert"
	"github.com/skywasm/skywasm/sdk"
)

// TestServeTLS serves HTTPS and WSS with a certificate made here: the API
// answers over HTTPS, and a Peer with Secure opens over WSS and gets TURN
// URLs that include turns:.
func TestServeTLS(t *testing.T) {
	cert, err := testcert.Write(t.TempDir(), "127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	u, stdout, exit := startServe(ctx, t, "-addr", "127.0.0.1:0", "-static", "", "-log-level", "error",
		"-tls-cert", cert.CertFile, "-tls-key", cert.KeyFile)
	if !strings.HasPrefix(u, "https://127.0.0.1:") {
		t.Fatalf("URL = %q, want https://127.0.0.1:<port>/", u)
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true, TLSClientConfig: &tls.Config{RootCAs: cert.Pool},
	}}
	resp, err := client.Get(u + "healthz")
	if err != nil {
		t.Fatalf("GET /healthz over HTTPS: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz: %d", resp.StatusCode)
	}

	i := strings.Index(stdout.String(), "dev mode — API key ")
	key, _, _ := strings.Cut(stdout.String()[i+len("dev mode — API key "):], ";")
	port := u[strings.LastIndex(u, ":")+1 : len(u)-1]
	var portNum int
	for _, c := range port {
		portNum = portNum*10 + int(c-'0')
	}
	peer, err := sdk.NewPeer(sdk.PeerOptions{
		Key: key, Host: "127.0.0.1", Port: portNum, Secure: true, NoReconnect: true, HTTPClient: client,
	})
	if err != nil {
		t.Fatal(err)
	}
	opened := make(chan string, 1)
	peer.OnOpen(func(id string) { opened <- id })
	select {
	case <-opened:
	case <-time.After(10 * time.Second):
		t.Fatal("a Peer with Secure did not open over WSS within 10 s")
	}
	var turns bool
	for _, s := range peer.ICEServers() {
		for _, url := range s.URLs {
			turns = turns || strings.HasPrefix(url, "turns:")
		}
	}
	if !turns {
		t.Errorf("ICE servers %+v have no turns: URL although TLS is on", peer.ICEServers())
	}
	peer.Destroy()
	cancel()
	waitExit(t, exit)
}

// TestCertReload replaces the certificate files: the next handshake after
// the check interval gets the new certificate, and a broken replacement
// keeps the old one.
func TestCertReload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first, err := testcert.Write(dir, "first.test")
	if err != nil {
		t.Fatal(err)
	}
	c, err := loadCert(first.CertFile, first.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	c.now = func() time.Time { return now }
	name := func() string {
		cert, err := c.config().GetCertificate(nil)
		if err != nil {
			t.Fatal(err)
		}
		return cert.Leaf.DNSNames[0]
	}
	if got := name(); got != "first.test" {
		t.Fatalf("certificate for %q, want first.test", got)
	}
	if _, err := testcert.Write(dir, "second.test"); err != nil {
		t.Fatal(err)
	}
	future := now.Add(time.Hour) // the files' modification times must differ
	for _, f := range []string{first.CertFile, first.KeyFile} {
		if err := os.Chtimes(f, future, future); err != nil {
			t.Fatal(err)
		}
	}
	if got := name(); got != "first.test" {
		t.Errorf("reloaded before the check interval: %q", got)
	}
	now = now.Add(certCheckInterval)
	if got := name(); got != "second.test" {
		t.Errorf("after the interval: certificate for %q, want second.test", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), []byte("half written"), 0o600); err != nil {
		t.Fatal(err)
	}
	later := future.Add(time.Hour)
	_ = os.Chtimes(first.KeyFile, later, later)
	now = now.Add(certCheckInterval)
	if got := name(); got != "second.test" {
		t.Errorf("a broken key replaced the certificate: %q", got)
	}
	if _, err := loadCert(first.CertFile, first.KeyFile); err == nil {
		t.Error("loadCert accepted a broken key")
	}
}
