package main

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"time"
)

// certCheckInterval is how often the certificate files are looked at for a
// renewal: certbot and the like replace them in place every few weeks, and
// a restart for that would drop every call.
const certCheckInterval = time.Minute

// certFiles serves a certificate and key from files, reloading them when
// either file changes, so that HTTPS, WSS and TURN over TLS pick up a
// renewal without a restart.
type certFiles struct {
	certFile, keyFile string
	now               func() time.Time

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   [2]time.Time // the files' modification times when loaded
	checked time.Time
}

// loadCert reads the pair once, so that a wrong path or a mismatched key is
// an error at start rather than at the first handshake.
func loadCert(certFile, keyFile string) (*certFiles, error) {
	c := &certFiles{certFile: certFile, keyFile: keyFile, now: time.Now}
	if err := c.reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// config returns a TLS configuration that asks c for its certificate.
func (c *certFiles) config() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return c.get(), nil },
	}
}

// get returns the current certificate, reloading it first if the files
// changed since the last look. A failed reload keeps the old certificate:
// a half-written renewal must not take the server down.
func (c *certFiles) get() *tls.Certificate {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.now(); now.Sub(c.checked) >= certCheckInterval {
		c.checked = now
		if stamp, err := c.stamps(); err == nil && stamp != c.stamp {
			_ = c.reloadLocked()
		}
	}
	return c.cert
}

func (c *certFiles) reload() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checked = c.now()
	return c.reloadLocked()
}

func (c *certFiles) reloadLocked() error {
	stamp, err := c.stamps()
	if err != nil {
		return err
	}
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("failed to load the TLS certificate: %w", err)
	}
	c.cert, c.stamp = &cert, stamp
	return nil
}

func (c *certFiles) stamps() ([2]time.Time, error) {
	var stamp [2]time.Time
	for i, name := range []string{c.certFile, c.keyFile} {
		fi, err := os.Stat(name)
		if err != nil {
			return stamp, fmt.Errorf("failed to read the TLS certificate: %w", err)
		}
		stamp[i] = fi.ModTime()
	}
	return stamp, nil
}
