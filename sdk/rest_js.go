//go:build js && wasm

package sdk

import (
	"context"
	"fmt"

	"github.com/hack-pad/safejs"

	"github.com/skywasm/skywasm/internal/jsutil"
	"github.com/skywasm/skywasm/protocol"
)

// get GETs rawURL with the browser's fetch and returns the status and the
// body, refused beyond maxRESTResponse bytes. Ending ctx aborts the request.
func (p *Peer) get(ctx context.Context, rawURL string) (int, []byte, error) {
	var b jsutil.Batch
	abort := b.New(b.Global("AbortController"))
	signal := b.Get(abort, "signal")
	if err := b.Err(); err != nil {
		return 0, nil, newError(protocol.ErrServer, "request failed", err)
	}
	stop := context.AfterFunc(ctx, func() { _, _ = abort.Call("abort") })
	defer stop()
	resp, err := jsutil.Call(ctx, safejs.Global(), "fetch", rawURL, map[string]any{"signal": signal})
	if err != nil {
		return 0, nil, newError(protocol.ErrServer, "request failed", err)
	}
	buf, err := jsutil.Call(ctx, resp, "arrayBuffer")
	if err != nil {
		return 0, nil, newError(protocol.ErrServer, "reading the answer failed", err)
	}
	u8 := b.New(b.Global("Uint8Array"), buf)
	if n := b.Length(u8); n > maxRESTResponse {
		return 0, nil, newError(protocol.ErrServer, fmt.Sprintf("answer of %d bytes is too large", n), nil)
	}
	body := b.CopyBytesToGo(u8)
	status := b.Int(b.Get(resp, "status"))
	if err := b.Err(); err != nil {
		return 0, nil, newError(protocol.ErrServer, "reading the answer failed", err)
	}
	return status, body, nil
}
