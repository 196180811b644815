package sizes

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/andybalholm/brotli"
)

// pkgSize is one Go package's share of a module's code section: the bytes
// of its functions' bodies, raw and as brotli compresses them alone.
type pkgSize struct {
	pkg         string
	raw, brotli int
	funcs       int
}

// packageSizes reads a Go wasm module built with its name section (no -s)
// and returns the code section's bytes by Go package, largest first, and
// the module's size by section kind (code, data, other). A wasm-aware
// measure: function bodies are attributed by the function names the Go
// linker writes, which -s strips, so the module measured is a build of
// the same program without -s -w, whose code section is the same.
func packageSizes(name string, quality int) (pkgs []pkgSize, sections map[string]int, err error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to read the module: %w", err)
	}
	m, err := parseModule(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(m.names) == 0 {
		return nil, nil, fmt.Errorf("%s has no function names: build it without -s", name)
	}
	byPkg := map[string]*pkgSize{}
	bodies := map[string]*bytes.Buffer{}
	for i, body := range m.bodies {
		pkg := goPackage(m.names[m.imports+i])
		p := byPkg[pkg]
		if p == nil {
			p = &pkgSize{pkg: pkg}
			byPkg[pkg] = p
			bodies[pkg] = new(bytes.Buffer)
		}
		p.raw += len(body)
		p.funcs++
		bodies[pkg].Write(body)
	}
	for pkg, p := range byPkg {
		var c countingWriter
		w := brotli.NewWriterOptions(&c, brotli.WriterOptions{Quality: quality})
		if _, err := w.Write(bodies[pkg].Bytes()); err != nil {
			return nil, nil, err
		}
		if err := w.Close(); err != nil {
			return nil, nil, err
		}
		p.brotli = c.n
		pkgs = append(pkgs, *p)
	}
	slices.SortFunc(pkgs, func(a, b pkgSize) int { return b.raw - a.raw })
	return pkgs, m.sections, nil
}

// goPackage is the package of a function's name as the Go linker writes
// it in the name section, where "/", "(", ")" and "*" became "_":
// "github.com_pion_webrtc_v4.__PeerConnection_.CreateOffer" is
// github.com/pion/webrtc/v4, "runtime.memmove" is runtime, the type
// algorithms "type_.eq.[4]int" are "type:". The package ends at the first
// "." after the domain of a path that has one. A package name with "_" in
// it would show with "/" instead: none is in the SDK.
func goPackage(sym string) string {
	from := 0
	if m := domain.FindStringIndex(sym); m != nil {
		from = m[1] // a module path's domain: its dots are not the end
	}
	dot := strings.IndexByte(sym[from:], '.')
	if dot < 0 {
		return sym
	}
	pkg := sym[:from+dot]
	if pkg == "type_" || pkg == "go_" {
		return strings.TrimSuffix(pkg, "_") + ":"
	}
	return strings.ReplaceAll(pkg, "_", "/")
}

// domain matches the domain that starts a module path, as mangled.
var domain = regexp.MustCompile(`^[a-z0-9-]+(\.[a-z0-9-]+)*\.(com|org|net|io|in|dev)_`)

// module is what packageSizes needs of a wasm binary.
type module struct {
	imports  int            // imported functions, which come first in the function index space
	bodies   [][]byte       // the code section's function bodies
	names    map[int]string // function index → name, from the name section
	sections map[string]int // bytes per section kind, headers included
}

var errTruncated = errors.New("truncated wasm module")

// parseModule reads the sections of a wasm binary (the core spec's
// binary format): the imports, the code section's bodies and the name
// section's function names; every other section is only counted.
func parseModule(b []byte) (*module, error) {
	if len(b) < 8 || string(b[:4]) != "\x00asm" || binary.LittleEndian.Uint32(b[4:8]) != 1 {
		return nil, errors.New("not a wasm module (version 1)")
	}
	m := &module{names: map[int]string{}, sections: map[string]int{}}
	r := reader{b: b, at: 8}
	for r.at < len(b) {
		start := r.at
		id := r.byte()
		size := int(r.u32())
		if r.err != nil || size > len(b)-r.at {
			return nil, errTruncated
		}
		sec := reader{b: b[r.at : r.at+size]}
		r.at += size
		kind := "other"
		switch id {
		case 0:
			if sec.name() == "name" {
				kind = "name"
				m.readNames(&sec)
			}
		case 2:
			m.readImports(&sec)
		case 10:
			kind = "code"
			n := int(sec.u32())
			for i := 0; i < n && sec.err == nil; i++ {
				l := int(sec.u32())
				m.bodies = append(m.bodies, sec.bytes(l))
			}
		case 11:
			kind = "data"
		}
		if sec.err != nil {
			return nil, fmt.Errorf("section %d: %w", id, sec.err)
		}
		m.sections[kind] += r.at - start
	}
	return m, nil
}

func (m *module) readImports(r *reader) {
	n := int(r.u32())
	for i := 0; i < n && r.err == nil; i++ {
		r.name()
		r.name()
		switch r.byte() {
		case 0: // function
			r.u32()
			m.imports++
		case 1: // table
			r.byte()
			r.limits()
		case 2: // memory
			r.limits()
		case 3: // global
			r.byte()
			r.byte()
		case 4: // tag
			r.byte()
			r.u32()
		default:
			r.err = errors.New("unknown import kind")
		}
	}
}

func (m *module) readNames(r *reader) {
	for r.at < len(r.b) && r.err == nil {
		id := r.byte()
		size := int(r.u32())
		sub := reader{b: r.bytes(size)}
		if id != 1 || r.err != nil {
			continue
		}
		n := int(sub.u32())
		for i := 0; i < n && sub.err == nil; i++ {
			idx := int(sub.u32())
			m.names[idx] = sub.name()
		}
	}
}

// reader reads LEB128 numbers, names and bytes; the first error sticks.
type reader struct {
	b   []byte
	at  int
	err error
}

func (r *reader) byte() byte {
	if r.err != nil || r.at >= len(r.b) {
		r.err = errTruncated
		return 0
	}
	c := r.b[r.at]
	r.at++
	return c
}

func (r *reader) u32() uint32 {
	var v uint32
	for shift := 0; shift < 35; shift += 7 {
		c := r.byte()
		v |= uint32(c&0x7f) << shift
		if c&0x80 == 0 {
			return v
		}
	}
	r.err = errors.New("bad LEB128")
	return 0
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b)-r.at {
		r.err = errTruncated
		return nil
	}
	s := r.b[r.at : r.at+n]
	r.at += n
	return s
}

func (r *reader) name() string { return string(r.bytes(int(r.u32()))) }

func (r *reader) limits() {
	if r.byte()&1 != 0 {
		r.u32()
	}
	r.u32()
}
