package main

import "testing"

func TestSizeFlag(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1048576", 1 << 20, true},
		{"512MiB", 512 << 20, true},
		{"2 GiB", 2 << 30, true},
		{"64KiB", 64 << 10, true},
		{"0", 0, true},
		{"-1", 0, false},
		{"1.5GiB", 0, false},
		{"lots", 0, false},
		{"9999999999GiB", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			var f sizeFlag
			err := f.Set(tt.in)
			if (err == nil) != tt.ok || f.n != tt.want {
				t.Fatalf("Set(%q) = %d, %v; want %d, ok %v", tt.in, f.n, err, tt.want, tt.ok)
			}
		})
	}
}
