package protocol

import (
	"regexp"
	"strings"
	"testing"
)

var skywayPeerID = regexp.MustCompile(`^[A-Za-z0-9_-]+(?:[ _-][A-Za-z0-9]+)*$`)

func TestValidPeerID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id   string
		want bool
	}{
		{"alice", true},
		{"a-b_c", true},
		{"john smith", true},
		{"-lead", true},
		{"a b c", true},
		{"a  b", false},
		{" a", false},
		{"a ", false},
		{"a b-", false},
		{"a b_c", true},
		{"a b_-c", false},
		{"a__b", true},
		{"é", false},
		{"a/b", false},
		{"", false},
		{strings.Repeat("a", MaxPeerIDLength), true},
		{strings.Repeat("a", MaxPeerIDLength+1), false},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			t.Parallel()
			if got := ValidPeerID(tt.id); got != tt.want {
				t.Errorf("ValidPeerID(%q) = %v, want %v", tt.id, got, tt.want)
			}
		})
	}
}

// FuzzValidPeerID holds the hand-written check to SkyWay's regular
// expression.
func FuzzValidPeerID(f *testing.F) {
	for _, s := range []string{"alice", "a b", "a  b", "a b-", "-", "a-b c_d", "x _y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		want := skywayPeerID.MatchString(id) && len(id) <= MaxPeerIDLength
		if got := ValidPeerID(id); got != want {
			t.Fatalf("ValidPeerID(%q) = %v, the regexp says %v", id, got, want)
		}
	})
}

func TestNewPeerID(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 1000 {
		id := NewPeerID()
		if len(id) != GeneratedPeerIDLength || !ValidPeerID(id) || strings.ContainsAny(id, "-_ ") {
			t.Fatalf("NewPeerID() = %q", id)
		}
		if seen[id] {
			t.Fatalf("NewPeerID repeated %q", id)
		}
		seen[id] = true
	}
}

func TestValidRoomName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		want bool
	}{
		{"lobby", true},
		{"会議室 1", true},
		{"", false},
		{"a\nb", false},
		{"a\x7fb", false},
		{strings.Repeat("é", MaxRoomNameLength), true},
		{strings.Repeat("é", MaxRoomNameLength+1), false},
		{"\xff", false},
	}
	for _, tt := range tests {
		if got := ValidRoomName(tt.name); got != tt.want {
			t.Errorf("ValidRoomName(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}
