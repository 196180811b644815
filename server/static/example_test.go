package static_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing/fstest"

	"github.com/skywasm/skywasm/server/static"
)

func ExampleNew() {
	js := fstest.MapFS{ // in a server: os.OpenRoot("js") and its FS
		"skywasm.js":      {Data: []byte("globalThis.Peer = class {};\n")},
		"sdk.wasm":        {Data: []byte("\x00asm\x01\x00\x00\x00 and much more")},
		"sdk.wasm.br":     {Data: []byte("smaller")},
		"package.json":    {Data: []byte("{}\n")},
		"skywasm.test.js": {Data: []byte("test()\n")},
	}
	h := static.New(static.Config{SDK: js, DevKey: "0f6a7c3e-1d2b-4c5a-9e8f-112233445566"})
	mux := http.NewServeMux()
	mux.Handle("GET "+static.SDKPath, h)
	mux.Handle("GET "+static.ExamplesPath, h)

	for _, path := range []string{"/sdk/skywasm.js", "/sdk/sdk.wasm", "/sdk/package.json", static.KeyScriptPath} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Accept-Encoding", "gzip, deflate, br, zstd")
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		fmt.Printf("%s %d %s", path, rec.Code, rec.Header().Get("Content-Type"))
		if enc := rec.Header().Get("Content-Encoding"); enc != "" {
			fmt.Printf(" (%s)", enc)
		}
		fmt.Println()
	}
	// Output:
	// /sdk/skywasm.js 200 text/javascript; charset=utf-8
	// /sdk/sdk.wasm 200 application/wasm (br)
	// /sdk/package.json 404 text/plain; charset=utf-8
	// /examples/_shared/key.js 200 text/javascript; charset=utf-8
}
