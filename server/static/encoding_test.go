package static

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestParseAcceptEncoding(t *testing.T) {
	t.Parallel()
	long := "gzip" + strings.Repeat(" ", maxAcceptEncodingLen)
	tests := []struct {
		name  string
		lines []string
		want  acceptEncoding
	}{
		{"absent", nil, identityOnly},
		{"empty", []string{""}, acceptEncoding{identity: 1}},
		{"chrome", []string{"gzip, deflate, br, zstd"}, acceptEncoding{brotli: 1000, gzip: 1000, identity: 1}},
		{"curl --compressed", []string{"deflate, gzip, br, zstd"}, acceptEncoding{brotli: 1000, gzip: 1000, identity: 1}},
		{"q values", []string{"br;q=0.8, gzip;q=0.9"}, acceptEncoding{brotli: 800, gzip: 900, identity: 1}},
		{"q digits", []string{"br;q=0.123, gzip;q=1.000, identity;q=0.5"}, acceptEncoding{brotli: 123, gzip: 1000, identity: 500}},
		{"q short", []string{"br;q=0., gzip;q=1."}, acceptEncoding{brotli: 0, gzip: 1000, identity: 1}},
		{"br refused", []string{"br;q=0, gzip"}, acceptEncoding{gzip: 1000, identity: 1}},
		{"case", []string{"BR;Q=0.5, GZip"}, acceptEncoding{brotli: 500, gzip: 1000, identity: 1}},
		{"x-gzip", []string{"x-gzip"}, acceptEncoding{gzip: 1000, identity: 1}},
		{"star", []string{"*"}, acceptEncoding{brotli: 1000, gzip: 1000, identity: 1000}},
		{"star with refusal", []string{"*, br;q=0"}, acceptEncoding{gzip: 1000, identity: 1000}},
		{"star refuses all", []string{"*;q=0"}, acceptEncoding{}},
		{"star refuses, gzip named", []string{"gzip, *;q=0"}, acceptEncoding{gzip: 1000}},
		{"star refuses, identity named", []string{"*;q=0, identity"}, acceptEncoding{identity: 1000}},
		{"identity refused", []string{"identity;q=0"}, acceptEncoding{}},
		{"identity weighted", []string{"identity;q=0.3, br;q=0.2"}, acceptEncoding{brotli: 200, identity: 300}},
		{"first entry counts", []string{"br;q=0, br;q=1"}, acceptEncoding{identity: 1}},
		{"first q counts", []string{"br;q=0.5;q=1"}, acceptEncoding{brotli: 500, identity: 1}},
		{"lines", []string{"gzip", "br;q=0.5"}, acceptEncoding{brotli: 500, gzip: 1000, identity: 1}},
		{"whitespace", []string{" \tbr \t; \tq=0.5 \t,\tgzip\t"}, acceptEncoding{brotli: 500, gzip: 1000, identity: 1}},
		{"spaces around =", []string{"br;q = 0"}, acceptEncoding{identity: 1}},
		{"empty members", []string{",, ,br,,"}, acceptEncoding{brotli: 1000, identity: 1}},
		{"other parameter", []string{"br;level=5;q=0.4"}, acceptEncoding{brotli: 400, identity: 1}},
		{"bad q skips the entry", []string{"br;q=2, gzip;q=0.5"}, acceptEncoding{gzip: 500, identity: 1}},
		{"q above 1", []string{"br;q=1.001"}, acceptEncoding{identity: 1}},
		{"q too long", []string{"br;q=0.5000"}, acceptEncoding{identity: 1}},
		{"q missing", []string{"br;q="}, acceptEncoding{identity: 1}},
		{"q without =", []string{"br;q"}, acceptEncoding{identity: 1}},
		{"q negative", []string{"br;q=-0"}, acceptEncoding{identity: 1}},
		{"junk after token", []string{"br junk, gzip"}, acceptEncoding{gzip: 1000, identity: 1}},
		{"not a token", []string{"\"br\", gzip"}, acceptEncoding{gzip: 1000, identity: 1}},
		{"bad star q refuses nothing", []string{"*;q=x"}, acceptEncoding{identity: 1}},
		{"too long", []string{long}, identityOnly},
		{"too long over lines", []string{long[:300], long[300:]}, identityOnly},
		{"too many entries", []string{strings.Repeat("a,", maxAcceptEncodingEntries) + "br"}, identityOnly},
		{"as many entries as allowed", []string{strings.Repeat("a,", maxAcceptEncodingEntries-1) + "br"}, acceptEncoding{brotli: 1000, identity: 1}},
		{"empty members do not count", []string{strings.Repeat(",", 100) + "br"}, acceptEncoding{brotli: 1000, identity: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := parseAcceptEncoding(tt.lines); got != tt.want {
				t.Errorf("parseAcceptEncoding(%q) = %+v, want %+v", tt.lines, got, tt.want)
			}
			if got := referenceAcceptEncoding(tt.lines); got != tt.want {
				t.Errorf("the reference parser gives %+v for %q; the table or the reference is wrong", got, tt.lines)
			}
		})
	}
}

func TestChoose(t *testing.T) {
	t.Parallel()
	const none = coding(255)
	tests := []struct {
		header         string
		brotli, gzip   bool
		want           coding // none: not acceptable
		wantIdentityOK bool
	}{
		{"gzip, deflate, br, zstd", true, true, brotli, true},
		{"gzip, deflate, br, zstd", false, true, gzip, true},
		{"gzip, deflate, br, zstd", false, false, identity, true},
		{"gzip;q=1, br;q=0.9", true, true, gzip, true},
		{"br;q=0, gzip;q=0.1", true, true, gzip, true},
		{"br;q=0, gzip;q=0", true, true, identity, true},
		{"identity;q=1, br;q=0.5", true, true, identity, true},
		{"identity, br", true, true, brotli, true}, // a tie goes to the smaller
		{"*", true, true, brotli, true},
		{"*;q=0.5, identity", true, true, identity, true},
		{"identity;q=0", false, false, none, false},
		{"identity;q=0", false, true, none, false},
		{"identity;q=0, gzip", false, true, gzip, false},
		{"*;q=0", true, true, none, false},
		{"*;q=0, br", true, true, brotli, false},
		{"*;q=0, br", false, true, none, false},
		{"", true, true, identity, true},
	}
	for _, tt := range tests {
		t.Run(tt.header+"/"+strconv.FormatBool(tt.brotli)+strconv.FormatBool(tt.gzip), func(t *testing.T) {
			t.Parallel()
			c, ok := parseAcceptEncoding([]string{tt.header}).choose(tt.brotli, tt.gzip)
			if !ok {
				c = none
			}
			if c != tt.want {
				t.Errorf("choose = %d, %v; want %d", c, ok, tt.want)
			}
		})
	}
}

func TestParseAcceptEncodingAllocatesNothing(t *testing.T) {
	lines := []string{"gzip, deflate, br;q=0.9, zstd", "identity;q=0.1, *;q=0"}
	allocs := testing.AllocsPerRun(100, func() {
		c, _ := parseAcceptEncoding(lines).choose(true, true)
		_ = c
	})
	if allocs != 0 {
		t.Errorf("parseAcceptEncoding allocates %.0f times, want 0", allocs)
	}
}

// FuzzAcceptEncoding checks the parser against referenceAcceptEncoding, a
// slow and plain version of the same rules, and that it stays in bounds.
// A "\n" in the input splits it into field lines.
func FuzzAcceptEncoding(f *testing.F) {
	for _, s := range []string{
		"", "gzip, deflate, br, zstd", "br;q=0.5, gzip;q=1.0", "*;q=0, identity", "identity;q=0",
		"gzip\nbr;q=0.001", "x-gzip;Q=0.25;foo=bar", "br;q=1.0000", " , ,\t", strings.Repeat("br,", 20),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lines := strings.Split(s, "\n")
		got := parseAcceptEncoding(lines)
		for _, q := range []int{got.brotli, got.gzip, got.identity} {
			if q < 0 || q > qMax {
				t.Fatalf("weight %d out of range: %+v", q, got)
			}
		}
		if want := referenceAcceptEncoding(lines); got != want {
			t.Fatalf("parseAcceptEncoding(%q) = %+v, the reference gives %+v", lines, got, want)
		}
		if flipped := parseAcceptEncoding(strings.Split(flipCase(s), "\n")); flipped != got {
			t.Fatalf("case changes the result: %+v, then %+v", got, flipped)
		}
		for _, have := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
			c, ok := got.choose(have[0], have[1])
			if ok && (c == brotli && !have[0] || c == gzip && !have[1]) {
				t.Fatalf("choose(%v) = %d, which is not available", have, c)
			}
		}
	})
}

// flipCase swaps the case of ASCII letters.
func flipCase(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
			b[i] = c ^ 0x20
		}
	}
	return string(b)
}

var (
	tokenRE  = regexp.MustCompile("^[!#$%&'*+\\-.^_`|~0-9A-Za-z]+$")
	qvalueRE = regexp.MustCompile(`^(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)$`)
)

// referenceAcceptEncoding is parseAcceptEncoding written for reading, not
// for speed.
func referenceAcceptEncoding(lines []string) acceptEncoding {
	if len(lines) == 0 || len(strings.Join(lines, "")) > maxAcceptEncodingLen {
		return identityOnly
	}
	var entries []string
	for _, l := range lines {
		for e := range strings.SplitSeq(l, ",") {
			if e = strings.Trim(e, " \t"); e != "" {
				entries = append(entries, e)
			}
		}
	}
	if len(entries) > maxAcceptEncodingEntries {
		return identityOnly
	}
	weights := map[string]int{}
	for _, e := range entries {
		parts := strings.Split(e, ";")
		name := strings.TrimRight(parts[0], " \t")
		if !tokenRE.MatchString(name) {
			continue
		}
		q, seen, bad := qMax, false, false
		for _, p := range parts[1:] {
			k, v, _ := strings.Cut(p, "=")
			if seen || strings.ToLower(strings.Trim(k, " \t")) != "q" {
				continue
			}
			seen = true
			v = strings.Trim(v, " \t")
			if !qvalueRE.MatchString(v) {
				bad = true
				break
			}
			whole, frac, _ := strings.Cut(v, ".")
			w, _ := strconv.Atoi(whole + (frac + "000")[:3])
			q = w
		}
		if bad {
			continue
		}
		name = strings.ToLower(name)
		if name == "x-gzip" {
			name = "gzip"
		}
		if _, ok := weights[name]; !ok {
			weights[name] = q
		}
	}
	weight := func(name string, otherwise int) int {
		if q, ok := weights[name]; ok {
			return q
		}
		if q, ok := weights["*"]; ok {
			return q
		}
		return otherwise
	}
	return acceptEncoding{brotli: weight("br", 0), gzip: weight("gzip", 0), identity: weight("identity", 1)}
}
