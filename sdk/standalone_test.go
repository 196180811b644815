//go:build !js

package sdk_test

import (
	"bytes"
	"go/importer"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestStandaloneAPI holds the promise that a user of sdk needs no other
// skywasm import: wherever the exported API (signatures, fields, methods,
// the fields of the types it aliases) meets a type of another skywasm
// package, sdk must give that type a name of its own, an exported alias,
// and its own declarations must use that name. It reads the compiler's
// export data of sdk, natively and for the browser build.
func TestStandaloneAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list -export")
	}
	for _, tc := range []struct {
		name string
		env  []string
	}{
		{"native", nil},
		{"wasm", []string{"GOOS=js", "GOARCH=wasm"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, problem := range leaks(t, tc.env) {
				t.Error(problem)
			}
		})
	}
}

const (
	module = "github.com/skywasm/skywasm/"
	sdkPkg = module + "sdk"
)

// leaks loads sdk's export data and lists where its API leaks another
// skywasm package.
func leaks(t *testing.T, env []string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-export", "-deps", "-f", "{{.ImportPath}}\t{{.Export}}", sdkPkg)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	exports := map[string]string{}
	for line := range strings.Lines(string(out)) {
		path, file, _ := strings.Cut(strings.TrimSpace(line), "\t")
		exports[path] = file
	}
	imp := importer.ForCompiler(token.NewFileSet(), "gc", func(path string) (io.ReadCloser, error) {
		return os.Open(exports[path])
	})
	pkg, err := imp.Import(sdkPkg)
	if err != nil {
		t.Fatal(err)
	}

	w := walker{seen: map[types.Type]bool{}, foreign: map[*types.TypeName]string{}}
	named := map[*types.TypeName]bool{} // foreign types sdk has an alias for
	scope := pkg.Scope()
	for _, name := range scope.Names() {
		obj := scope.Lookup(name)
		if !obj.Exported() {
			continue
		}
		if tn, ok := obj.(*types.TypeName); ok && tn.IsAlias() {
			if n, ok := types.Unalias(tn.Type()).(*types.Named); ok {
				named[n.Obj()] = true
			}
		}
		w.visit(obj.Type(), "sdk."+name, false)
	}
	var problems []string
	problems = append(problems, w.direct...)
	for tn, where := range w.foreign {
		if !named[tn] {
			problems = append(problems, where+" needs "+tn.Pkg().Path()+"."+tn.Name()+", which sdk has no name for")
		}
	}
	slices.Sort(problems)
	return slices.Compact(problems)
}

type walker struct {
	seen map[types.Type]bool
	// foreign are the other skywasm packages' types the API reaches, with
	// where one was first met.
	foreign map[*types.TypeName]string
	// direct are sdk declarations that name such a type themselves.
	direct []string
}

// visit walks t, met at where; inAlias says t is reached through an sdk
// alias, so its own declaration is not sdk's to word.
func (w *walker) visit(t types.Type, where string, inAlias bool) {
	switch t := t.(type) {
	case *types.Alias:
		obj := t.Obj()
		if obj.Pkg() != nil && obj.Pkg().Path() == sdkPkg {
			w.visit(t.Rhs(), where, true)
			return
		}
		w.visit(types.Unalias(t), where, inAlias)
	case *types.Named:
		obj := t.Obj()
		if obj.Pkg() == nil || !strings.HasPrefix(obj.Pkg().Path()+"/", module) {
			return // the standard library, pion: a user imports those
		}
		if obj.Pkg().Path() != sdkPkg {
			if !inAlias {
				w.direct = append(w.direct, where+" is declared with "+obj.Pkg().Name()+"."+obj.Name()+" instead of sdk's name for it")
			}
			if _, ok := w.foreign[obj]; !ok {
				w.foreign[obj] = where
			}
		}
		if w.seen[t] {
			return
		}
		w.seen[t] = true
		ours := obj.Pkg().Path() == sdkPkg
		if ours {
			where = "sdk." + obj.Name() // name its members after it
		}
		for m := range t.Methods() {
			if m.Exported() {
				w.visit(m.Type(), where+"."+m.Name(), inAlias && !ours)
			}
		}
		if ptr := types.NewPointer(t); true {
			ms := types.NewMethodSet(ptr)
			for i := range ms.Len() {
				if f := ms.At(i).Obj(); f.Exported() {
					w.visit(f.Type(), where+"."+f.Name(), inAlias && !ours)
				}
			}
		}
		w.visit(t.Underlying(), where, inAlias && !ours)
	case *types.Pointer:
		w.visit(t.Elem(), where, inAlias)
	case *types.Slice:
		w.visit(t.Elem(), where, inAlias)
	case *types.Array:
		w.visit(t.Elem(), where, inAlias)
	case *types.Map:
		w.visit(t.Key(), where, inAlias)
		w.visit(t.Elem(), where, inAlias)
	case *types.Chan:
		w.visit(t.Elem(), where, inAlias)
	case *types.Signature:
		for v := range t.Params().Variables() {
			w.visit(v.Type(), where, inAlias)
		}
		for v := range t.Results().Variables() {
			w.visit(v.Type(), where, inAlias)
		}
	case *types.Struct:
		for f := range t.Fields() {
			if f.Exported() {
				w.visit(f.Type(), where+"."+f.Name(), inAlias)
			}
		}
	case *types.Interface:
		for m := range t.Methods() {
			if m.Exported() {
				w.visit(m.Type(), where+"."+m.Name(), inAlias)
			}
		}
	}
}
