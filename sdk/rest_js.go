//go:build js && wasm

package sdk

import (
	"context"
	"fmt"
	"syscall/js"

	"github.com/skywasm/skywasm/internal/jsutil"
	"github.com/skywasm/skywasm/protocol"
)

// get GETs rawURL with the browser's fetch and returns the status and the
// body, refused beyond maxRESTResponse bytes. Ending ctx aborts the request.
func (p *Peer) get(ctx context.Context, rawURL string) (int, []byte, error) {
	abort := js.Global().Get("AbortController").New()
	stop := context.AfterFunc(ctx, func() { abort.Call("abort") })
	defer stop()
	resp, err := jsutil.Await(ctx, js.Global().Call("fetch", rawURL, map[string]any{"signal": abort.Get("signal")}))
	if err != nil {
		return 0, nil, newError(protocol.ErrServer, "request failed", err)
	}
	buf, err := jsutil.Await(ctx, resp.Call("arrayBuffer"))
	if err != nil {
		return 0, nil, newError(protocol.ErrServer, "reading the answer failed", err)
	}
	u8 := js.Global().Get("Uint8Array").New(buf)
	if n := u8.Length(); n > maxRESTResponse {
		return 0, nil, newError(protocol.ErrServer, fmt.Sprintf("answer of %d bytes is too large", n), nil)
	}
	body := make([]byte, u8.Length())
	js.CopyBytesToGo(body, u8)
	return resp.Get("status").Int(), body, nil
}
