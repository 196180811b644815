//go:build !js

package datapack

import (
	"reflect"
	"slices"
	"strings"
)

// field is a struct field as Encode packs it: a map entry.
type field struct {
	name  string
	key   []byte // name, packed as a str
	index []int  // for reflect.Value.Field, one level of embedding each
	enc   encodeFunc
	omit  func(reflect.Value) bool // nil: never left out
}

func newStructEncodeFunc(t reflect.Type) encodeFunc {
	fields := structFields(t)
	return func(b []byte, v reflect.Value, depth int) ([]byte, error) {
		if depth >= MaxDepth {
			return b, errTooDeep()
		}
		// A header for every field; one for fewer if some are left out.
		start := len(b)
		b = appendMapHeader(b, len(fields))
		n := 0
		for i := range fields {
			f := &fields[i]
			fv, ok := fieldValue(v, f.index)
			if !ok || f.omit != nil && f.omit(fv) {
				continue
			}
			var err error
			if b, err = f.enc(append(b, f.key...), fv, depth+1); err != nil {
				return b, err
			}
			n++
		}
		if n < len(fields) {
			b = shrinkMapHeader(b, start, len(fields), n)
		}
		return b, nil
	}
}

// fieldValue returns the field of v at index, or false when an embedded
// pointer on the way is nil.
func fieldValue(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}

// shrinkMapHeader rewrites the header at b[start:] of a map of was entries
// for one of n, which may be shorter, so that the encoding stays the
// smallest.
func shrinkMapHeader(b []byte, start, was, n int) []byte {
	var h [5]byte
	old := len(appendMapHeader(h[:0], was))
	head := appendMapHeader(h[:0], n)
	if len(head) < old {
		b = append(b[:start+len(head)], b[start+old:]...)
	}
	copy(b[start:], head)
	return b
}

// candidate is a field structFields found, which may lose to another of
// its name.
type candidate struct {
	field
	typ    reflect.Type
	depth  int // of embedding
	tagged bool
}

// structFields lists the fields Encode packs of a struct type t, in the
// order of their declaration, chosen as encoding/json chooses them: the
// fields of an untagged embedded struct are promoted; of several fields of
// one name, the least deeply embedded wins, then a tagged one, and if that
// leaves more than one, none is packed.
func structFields(t reflect.Type) []field {
	type embedded struct {
		t     reflect.Type
		index []int
	}
	var found []candidate              // by depth
	visited := map[reflect.Type]bool{} // at a lesser depth
	level := []embedded{{t: t}}
	for depth := 0; len(level) > 0; depth++ {
		var next []embedded
		for _, s := range level {
			if visited[s.t] {
				continue
			}
			for i := range s.t.NumField() {
				sf := s.t.Field(i)
				tag := sf.Tag.Get("msgpack")
				if tag == "" {
					tag = sf.Tag.Get("json")
				}
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				index := append(s.index[:len(s.index):len(s.index)], i)
				if sf.Anonymous && name == "" {
					ft := sf.Type
					if ft.Kind() == reflect.Pointer {
						ft = ft.Elem()
					}
					if ft.Kind() == reflect.Struct {
						next = append(next, embedded{ft, index})
						continue
					}
				}
				if !sf.IsExported() {
					// An unexported embedded struct is only where its
					// exported fields come from.
					continue
				}
				c := candidate{typ: sf.Type, depth: depth, tagged: name != ""}
				c.name, c.index = name, index
				if name == "" {
					c.name = sf.Name
				}
				for opts != "" {
					var opt string
					opt, opts, _ = strings.Cut(opts, ",")
					switch opt {
					case "omitempty":
						c.omit = isEmptyFunc(sf.Type)
					case "omitzero":
						if c.omit == nil {
							c.omit = isZeroFunc(sf.Type)
						}
					}
				}
				found = append(found, c)
			}
		}
		for _, s := range level {
			visited[s.t] = true
		}
		level = next
	}

	byName := make(map[string][]candidate, len(found))
	for _, c := range found {
		byName[c.name] = append(byName[c.name], c)
	}
	fields := make([]field, 0, len(byName))
	for _, cs := range byName {
		c, ok := dominant(cs)
		if !ok {
			continue
		}
		c.key = append(appendStrHeader(nil, len(c.name)), c.name...)
		c.enc = encodeFuncOf(c.typ)
		fields = append(fields, c.field)
	}
	slices.SortFunc(fields, func(a, b field) int { return slices.Compare(a.index, b.index) })
	return fields
}

// dominant picks the field a name stands for from cs, the fields of that
// name by depth.
func dominant(cs []candidate) (candidate, bool) {
	var tagged []candidate
	n := 0
	for _, c := range cs {
		if c.depth > cs[0].depth {
			break
		}
		n++
		if c.tagged {
			tagged = append(tagged, c)
		}
	}
	switch {
	case n == 1:
		return cs[0], true
	case len(tagged) == 1:
		return tagged[0], true
	}
	return candidate{}, false
}

// isZeroer is the method of time.Time and others that tells a zero value
// where comparing with the zero value of the type would not.
type isZeroer interface{ IsZero() bool }

var isZeroerType = reflect.TypeFor[isZeroer]()

// isEmptyFunc returns the test of omitempty for a field of type t: that of
// encoding/json, and a value whose IsZero method reports true (a zero
// time.Time), which encoding/json leaves to omitzero but Encode always left
// out.
func isEmptyFunc(t reflect.Type) func(reflect.Value) bool {
	switch t.Kind() {
	case reflect.Bool:
		return func(v reflect.Value) bool { return !v.Bool() }
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(v reflect.Value) bool { return v.Int() == 0 }
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return func(v reflect.Value) bool { return v.Uint() == 0 }
	case reflect.Float32, reflect.Float64:
		return func(v reflect.Value) bool { return v.Float() == 0 }
	case reflect.String, reflect.Slice, reflect.Map:
		return func(v reflect.Value) bool { return v.Len() == 0 }
	case reflect.Pointer, reflect.Interface:
		return reflect.Value.IsNil
	}
	if t.Implements(isZeroerType) {
		return func(v reflect.Value) bool { return v.Interface().(isZeroer).IsZero() }
	}
	if t.Kind() == reflect.Array {
		return func(v reflect.Value) bool { return v.Len() == 0 }
	}
	return nil // a struct is never empty
}

// isZeroFunc returns the test of omitzero for a field of type t, as in
// encoding/json: its IsZero method, else whether it is the zero value.
func isZeroFunc(t reflect.Type) func(reflect.Value) bool {
	if !t.Implements(isZeroerType) {
		return reflect.Value.IsZero
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface:
		return func(v reflect.Value) bool { return v.IsNil() || v.Interface().(isZeroer).IsZero() }
	}
	return func(v reflect.Value) bool { return v.Interface().(isZeroer).IsZero() }
}
