package sizes

import "testing"

func TestGoPackage(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ sym, want string }{
		{"runtime.memmove", "runtime"},
		{"runtime.__mheap_.alloc", "runtime"},
		{"sync.runtime_registerPoolCleanup", "sync"},
		{"github.com_pion_webrtc_v4.__PeerConnection_.CreateOffer", "github.com/pion/webrtc/v4"},
		{"github.com_skywasm_skywasm_sdk.__conn_.newPeerConnection.func3", "github.com/skywasm/skywasm/sdk"},
		{"golang.org_x_crypto_chacha20.New", "golang.org/x/crypto/chacha20"},
		{"crypto_internal_fips140_nistec.__P384Point_.SetBytes", "crypto/internal/fips140/nistec"},
		{"type_.eq.runtime.untracedG_7", "type:"},
		{"go_buildid", "go_buildid"},
	} {
		t.Run(c.sym, func(t *testing.T) {
			t.Parallel()
			if got := goPackage(c.sym); got != c.want {
				t.Errorf("goPackage(%q) = %q, want %q", c.sym, got, c.want)
			}
		})
	}
}

func TestParseModuleRejects(t *testing.T) {
	t.Parallel()
	for name, b := range map[string][]byte{
		"empty":     nil,
		"not wasm":  []byte("\x7fELF\x01\x00\x00\x00"),
		"truncated": []byte("\x00asm\x01\x00\x00\x00\x0a\x7f"),
	} {
		if _, err := parseModule(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
