package static

import "strings"

// coding is a content coding a Handler can serve.
type coding uint8

const (
	identity coding = iota
	gzip
	brotli
)

// Limits on the Accept-Encoding header, which comes from the network.
// Browsers send about 25 bytes in 4 entries ("gzip, deflate, br, zstd"); a
// header beyond either limit is treated as absent: identity only.
const (
	maxAcceptEncodingLen     = 512 // bytes, all field lines together
	maxAcceptEncodingEntries = 16  // non-empty list members
)

// qMax is q=1 in thousandths, the unit weights are kept in.
const qMax = 1000

// acceptEncoding is what a request's Accept-Encoding allows: the weight of
// each coding a Handler can serve, in thousandths; 0 is not acceptable.
type acceptEncoding struct {
	brotli, gzip, identity int
}

// identityOnly is the answer to a request without Accept-Encoding, or with
// one beyond the limits: RFC 9110 §12.5.3 would allow any coding then, but
// a client that says nothing may not decode any, so it gets the bytes as
// they are.
var identityOnly = acceptEncoding{identity: qMax}

// parseAcceptEncoding reads the field lines of a request's Accept-Encoding
// (http.Header.Values) by RFC 9110 §12.5.3. It never fails: an entry it
// cannot read is skipped, which can only make its coding less acceptable
// ("br;q=x" does not accept br), and a header beyond the limits counts as
// absent. The first entry for a coding counts. A coding neither named nor
// covered by "*" is not acceptable, except identity, which stays acceptable
// at the lowest weight unless "identity;q=0", or "*;q=0" without an
// identity entry, refuses it. "x-gzip" is gzip (§8.4.1.3). It does not
// allocate.
func parseAcceptEncoding(lines []string) acceptEncoding {
	if len(lines) == 0 {
		return identityOnly
	}
	n := 0
	for _, l := range lines {
		n += len(l)
	}
	if n > maxAcceptEncodingLen {
		return identityOnly
	}
	const unset = -1
	br, gz, id, star := unset, unset, unset, unset
	entries := 0
	for _, l := range lines {
		for l != "" {
			var entry string
			entry, l, _ = strings.Cut(l, ",")
			entry = trimOWS(entry)
			if entry == "" {
				continue // RFC 9110 §5.6.1: empty list members are allowed and ignored
			}
			if entries++; entries > maxAcceptEncodingEntries {
				return identityOnly
			}
			name, q, ok := parseEntry(entry)
			if !ok {
				continue
			}
			switch {
			case strings.EqualFold(name, "br"):
				br = firstSet(br, q)
			case strings.EqualFold(name, "gzip"), strings.EqualFold(name, "x-gzip"):
				gz = firstSet(gz, q)
			case strings.EqualFold(name, "identity"):
				id = firstSet(id, q)
			case name == "*":
				star = firstSet(star, q)
			}
		}
	}
	// What "*" covers, and what is left when nothing covers a coding.
	orStar := func(q, otherwise int) int {
		switch {
		case q != unset:
			return q
		case star != unset:
			return star
		}
		return otherwise
	}
	return acceptEncoding{brotli: orStar(br, 0), gzip: orStar(gz, 0), identity: orStar(id, 1)}
}

func firstSet(have, q int) int {
	if have >= 0 {
		return have
	}
	return q
}

// parseEntry reads one list member, `token [ OWS ";" OWS "q=" qvalue ]`,
// and returns the token and its weight in thousandths. Parameters other
// than q (RFC 7231's accept-ext, gone from RFC 9110) are skipped; a q that
// does not read, or anything else after the token, makes the entry
// unreadable rather than let "br;q = 0" pass as br at q=1.
func parseEntry(entry string) (name string, q int, ok bool) {
	i := 0
	for i < len(entry) && isTokenChar(entry[i]) {
		i++
	}
	if i == 0 {
		return "", 0, false
	}
	name, rest := entry[:i], trimOWS(entry[i:])
	if rest == "" {
		return name, qMax, true
	}
	if rest[0] != ';' {
		return "", 0, false
	}
	q = -1
	for params := rest[1:]; params != ""; {
		var param string
		param, params, _ = strings.Cut(params, ";")
		key, value, _ := strings.Cut(param, "=")
		if q >= 0 || !strings.EqualFold(trimOWS(key), "q") {
			continue // the first q counts
		}
		if q, ok = parseQValue(trimOWS(value)); !ok {
			return "", 0, false
		}
	}
	if q < 0 {
		q = qMax
	}
	return name, q, true
}

// parseQValue reads RFC 9110's qvalue, "0" [ "." 0*3DIGIT ] or
// "1" [ "." 0*3("0") ], in thousandths.
func parseQValue(s string) (int, bool) {
	if s == "" || s[0] != '0' && s[0] != '1' || len(s) > 5 {
		return 0, false
	}
	q := int(s[0]-'0') * qMax
	if len(s) == 1 {
		return q, true
	}
	if s[1] != '.' {
		return 0, false
	}
	scale := qMax / 10
	for i := 2; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		q += int(c-'0') * scale
		scale /= 10
	}
	if q > qMax {
		return 0, false
	}
	return q, true
}

// trimOWS removes RFC 9110's optional whitespace, spaces and tabs.
func trimOWS(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// isTokenChar reports whether c is an RFC 9110 tchar.
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// choose returns the coding to serve given which variants exist: the
// acceptable one with the highest weight, ties going to brotli, then gzip,
// then identity (smaller first). ok is false when none is acceptable.
func (a acceptEncoding) choose(haveBrotli, haveGzip bool) (c coding, ok bool) {
	best := 0
	if haveBrotli && a.brotli > best {
		c, best = brotli, a.brotli
	}
	if haveGzip && a.gzip > best {
		c, best = gzip, a.gzip
	}
	if a.identity > best {
		c, best = identity, a.identity
	}
	return c, best > 0
}
