//go:build !js

package sdk

import (
	"context"
	"io"
	"net/http"

	"github.com/skywasm/skywasm/protocol"
)

// get GETs rawURL with the options' HTTP client and returns the status and
// at most maxRESTResponse bytes of the body.
func (p *Peer) get(ctx context.Context, rawURL string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return 0, nil, err
	}
	client := p.opts.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, newError(protocol.ErrServer, "request failed", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxRESTResponse))
	if err != nil {
		return 0, nil, newError(protocol.ErrServer, "reading the answer failed", err)
	}
	return resp.StatusCode, body, nil
}
