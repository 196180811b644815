//go:build !js

package sdk

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParseDispatch(t *testing.T) {
	t.Parallel()
	many := `{"nodes":[` + strings.Repeat(`{"url":"http://n:1"},`, maxDispatchNodes) + `{"url":"http://n:2"}]}`
	tests := []struct {
		name   string
		body   string
		secure bool
		want   []string
		bad    bool
	}{
		{"cluster", `{"nodes":[{"name":"b","url":"http://127.0.0.1:8002/","load":0},{"name":"a","url":"ws://127.0.0.1:8001","load":3}]}`, false,
			[]string{"http://127.0.0.1:8002", "http://127.0.0.1:8001"}, false},
		{"no public URLs", `{"nodes":[]}`, false, nil, false},
		{"https kept when secure", `{"nodes":[{"url":"https://a.example/x?y"}]}`, true, []string{"https://a.example"}, false},
		{"plain http refused when secure", `{"nodes":[{"url":"https://a.example"},{"url":"http://b.example"}]}`, true, nil, true},
		{"no list", `{}`, false, nil, true},
		{"not JSON", `<html>`, false, nil, true},
		{"bad scheme", `{"nodes":[{"url":"ftp://a"}]}`, false, nil, true},
		{"no host", `{"nodes":[{"url":"http://"}]}`, false, nil, true},
		{"URL too long", `{"nodes":[{"url":"http://` + strings.Repeat("a", maxNodeURL) + `"}]}`, false, nil, true},
		{"body too large", `{"nodes":[],"pad":"` + strings.Repeat("x", maxDispatchBody) + `"}`, false, nil, true},
		{"cut to the limit", many, false, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseDispatch([]byte(tt.body), tt.secure)
			if tt.bad {
				if !errors.Is(err, ErrDispatch) {
					t.Fatalf("parseDispatch = %v, %v; want ErrDispatch", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.name == "cut to the limit" {
				if len(got) != maxDispatchNodes {
					t.Fatalf("%d nodes, want %d", len(got), maxDispatchNodes)
				}
				return
			}
			if s := fmt.Sprint(got); s != fmt.Sprint(tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
				t.Fatalf("parseDispatch = %v, want %v", got, tt.want)
			}
		})
	}
}

// FuzzDispatch feeds parseDispatch what a dispatcher (or anything posing
// as one) might answer: it must not panic, and what it keeps must be
// within the limits and dialable.
func FuzzDispatch(f *testing.F) {
	for _, seed := range []string{
		`{"nodes":[{"name":"n1","url":"http://127.0.0.1:8001/","load":2}]}`,
		`{"nodes":[]}`, `{"nodes":null}`, `{"nodes":[{"url":7}]}`, `{"nodes":[{"url":"wss://h"}]}`, `[]`, ``,
	} {
		f.Add([]byte(seed), false)
	}
	f.Fuzz(func(t *testing.T, body []byte, secure bool) {
		nodes, err := parseDispatch(body, secure)
		if err != nil {
			if !errors.Is(err, ErrDispatch) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if len(nodes) > maxDispatchNodes {
			t.Fatalf("%d nodes", len(nodes))
		}
		for _, u := range nodes {
			if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (secure && u.Scheme != "https") {
				t.Fatalf("kept %v", u)
			}
		}
	})
}

func TestDiffMembers(t *testing.T) {
	t.Parallel()
	left, came := diffMembers([]string{"a", "b", "c"}, []string{"c", "d", "a"})
	if fmt.Sprint(left, came) != "[b] [d]" {
		t.Fatalf("diffMembers = %q, %q", left, came)
	}
	if left, came := diffMembers([]string{"a"}, []string{"a"}); left != nil || came != nil {
		t.Fatalf("no change gave %q, %q", left, came)
	}
}

func TestSDPFingerprint(t *testing.T) {
	t.Parallel()
	sdp := "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\na=fingerprint:sha-256 AB:CD\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=fingerprint:sha-256 EF\r\n"
	if got := sdpFingerprint(sdp); got != "sha-256 AB:CD" {
		t.Fatalf("sdpFingerprint = %q", got)
	}
	if got := sdpFingerprint("v=0\r\n"); got != "" {
		t.Fatalf("no fingerprint gave %q", got)
	}
}
