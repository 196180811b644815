package jsonscan

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestValue(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	tooDeep := strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)
	tests := []struct {
		name string
		in   string
		kind Kind
		err  error
	}{
		{"object", ` {"a": [1, -2.5e+3, true, false, null, "x\u00e9\n"]} `, Object, nil},
		{"empty object", `{}`, Object, nil},
		{"string", `"hi"`, String, nil},
		{"number", `-0.5E-7`, Number, nil},
		{"max depth", deep, Array, nil},
		{"too deep", tooDeep, Invalid, ErrDepth},
		{"trailing", `{} x`, Invalid, ErrTrailing},
		{"two values", `1 2`, Invalid, ErrTrailing},
		{"empty", ``, Invalid, ErrSyntax},
		{"trailing comma", `{"a":1,}`, Invalid, ErrSyntax},
		{"leading zero", `01`, Invalid, ErrTrailing},
		{"bare minus", `-`, Invalid, ErrSyntax},
		{"bad escape", `"\x"`, Invalid, ErrSyntax},
		{"short unicode escape", `"\u12"`, Invalid, ErrSyntax},
		{"control char", "\"a\tb\"", Invalid, ErrSyntax},
		{"unterminated", `"abc`, Invalid, ErrSyntax},
		{"bad utf8", "\"\xff\"", Invalid, ErrNotUTF8},
		{"single quotes", `{'a':1}`, Invalid, ErrSyntax},
		{"missing colon", `{"a" 1}`, Invalid, ErrSyntax},
		{"tru", `tru`, Invalid, ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, kind, err := Value([]byte(tt.in))
			if err != tt.err || kind != tt.kind {
				t.Fatalf("Value(%q) = %v, %v; want %v, %v", tt.in, kind, err, tt.kind, tt.err)
			}
		})
	}
}

func TestMembers(t *testing.T) {
	t.Parallel()
	span, _, err := Value([]byte(`{ "a" : 1 , "b\"c": {"x": [1,2]}, "d":"s" }`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	it := Members(span)
	for m, ok := it.Next(); ok; m, ok = it.Next() {
		got = append(got, string(Unquote(nil, m.Key))+"="+string(m.Value)+":"+m.Kind.String())
	}
	want := []string{`a=1:number`, `b"c={"x": [1,2]}:object`, `d="s":string`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("members = %q, want %q", got, want)
	}
}

func TestElements(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{`[]`, ``},
		{`[ ]`, ``},
		{`[1]`, `1:number`},
		{`[ 1 , "a,]" ,{"x":[1,2]}, [ ] ,true,null,-2.5e3 ]`, `1:number|"a,]":string|{"x":[1,2]}:object|[ ]:array|true:true|null:null|-2.5e3:number`},
	} {
		span, _, err := Value([]byte(tt.in))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		it := Elements(span)
		for v, k, ok := it.Next(); ok; v, k, ok = it.Next() {
			got = append(got, string(v)+":"+k.String())
		}
		if strings.Join(got, "|") != tt.want {
			t.Errorf("Elements(%s) = %q, want %q", tt.in, strings.Join(got, "|"), tt.want)
		}
	}
}

func TestUnquote(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`plain`, `a\"b\\c\/d\b\f\n\r\t`, `\u00e9\u4e2d`, `\ud83d\ude00`, `\ud83d`, `\ude00x`, `mixed é 中`} {
		var want string
		if err := json.Unmarshal([]byte(`"`+in+`"`), &want); err != nil {
			t.Fatal(err)
		}
		if got := string(Unquote(nil, []byte(in))); got != want {
			t.Errorf("Unquote(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMembersAllocatesNothing(t *testing.T) {
	data := []byte(`{"type":"SEND_OFFER","payload":{"dst":"abc","offer":{"type":"offer","sdp":"v=0\r\n"}}}`)
	var buf [64]byte
	allocs := testing.AllocsPerRun(100, func() {
		span, _, err := Value(data)
		if err != nil {
			t.Fatal(err)
		}
		it := Members(span)
		for m, ok := it.Next(); ok; m, ok = it.Next() {
			_ = Unquote(buf[:0], m.Key)
		}
	})
	if allocs != 0 {
		t.Fatalf("allocs per scan = %v, want 0", allocs)
	}
}

// FuzzValue checks the scanner against encoding/json: both accept the same
// documents (within the depth limit and for UTF-8 text), and a string decodes
// to the same text.
func FuzzValue(f *testing.F) {
	for _, s := range []string{`{"a":[1,2,{"b":null}]}`, `[1, "x" ,[],{}]`, `"\ud83d\ude00"`, `-1.5e10`, `[]`, `{"a":"\u0000"}`, `{"a" :tru}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		span, kind, err := Value(data)
		std := json.Valid(data)
		if err == nil && !std {
			t.Fatalf("scanner accepted %q, encoding/json did not", data)
		}
		if err != nil && std && utf8.Valid(data) && err != ErrDepth {
			t.Fatalf("scanner refused %q (%v), encoding/json accepted it", data, err)
		}
		if err != nil {
			return
		}
		switch kind {
		case String:
			var want string
			if json.Unmarshal(span, &want) == nil && string(Unquote(nil, StringContent(span))) != want {
				t.Fatalf("Unquote(%q) differs from encoding/json %q", span, want)
			}
		case Object:
			it := Members(span)
			n := 0
			for m, ok := it.Next(); ok; m, ok = it.Next() {
				if _, k, err := Value(m.Value); err != nil || k != m.Kind {
					t.Fatalf("member value %q of %q scans as %v, %v; Next said %v", m.Value, span, k, err, m.Kind)
				}
				if _, _, err := Value(append(append([]byte{'"'}, m.Key...), '"')); err != nil {
					t.Fatalf("member key %q of %q is not a string's content: %v", m.Key, span, err)
				}
				n++
			}
			var obj map[string]json.RawMessage
			if json.Unmarshal(span, &obj) == nil && n < len(obj) {
				t.Fatalf("iterated %d members of %q, encoding/json found %d keys", n, span, len(obj))
			}
		case Array:
			var want []json.RawMessage
			if err := json.Unmarshal(span, &want); err != nil {
				t.Fatalf("encoding/json refused the array %q: %v", span, err)
			}
			it := Elements(span)
			n := 0
			for v, k, ok := it.Next(); ok; v, k, ok = it.Next() {
				if _, vk, err := Value(v); err != nil || vk != k {
					t.Fatalf("element %q of %q scans as %v, %v; Next said %v", v, span, vk, err, k)
				}
				if n < len(want) && !json.Valid(v) {
					t.Fatalf("element %d of %q is %q, not a value", n, span, v)
				}
				n++
			}
			if n != len(want) {
				t.Fatalf("iterated %d elements of %q, encoding/json found %d", n, span, len(want))
			}
		}
	})
}
