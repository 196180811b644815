package sdk

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/skywasm/skywasm/internal/minjson"
	"github.com/skywasm/skywasm/protocol"
)

// maxRESTResponse bounds what ListAllPeers reads: a key's peer list.
const maxRESTResponse = 16 << 20

// ListAllPeers returns the IDs of the key's peers. Without the app's
// listPeers permission it returns an *Error of type list-error.
func (p *Peer) ListAllPeers(ctx context.Context) ([]string, error) {
	if err := p.checkOpen(); err != nil {
		return nil, err
	}
	var ids []string
	if err := p.getJSON(ctx, "/v1/apps/"+url.PathEscape(p.opts.Key)+"/peers", &ids); err != nil {
		return nil, err
	}
	return ids, nil
}

// FetchPeerExists reports whether peer id is connected (or within its
// reconnection window). As in SkyWay it may be called once a second.
func (p *Peer) FetchPeerExists(ctx context.Context, id string) (bool, error) {
	if err := p.checkOpen(); err != nil {
		return false, err
	}
	now := time.Now().UnixNano()
	p.mu.Lock()
	if now-p.lastExists < int64(time.Second) {
		p.mu.Unlock()
		return false, ErrTooManyRequests
	}
	p.lastExists = now
	p.mu.Unlock()
	var body struct {
		Exists bool `json:"exists"`
	}
	path := "/v1/apps/" + url.PathEscape(p.opts.Key) + "/peers/" + url.PathEscape(id) + "/exists"
	if err := p.getJSON(ctx, path, &body); err != nil {
		return false, err
	}
	return body.Exists, nil
}

// getJSON GETs path on the server and decodes its JSON answer; a refusal
// becomes an *Error with the server's type.
func (p *Peer) getJSON(ctx context.Context, path string, out any) error {
	u := *p.serverURL()
	u.Path = path
	status, body, err := p.get(ctx, u.String())
	if err != nil {
		return err
	}
	if status != 200 {
		var e struct {
			Type    ErrorType `json:"type"`
			Message string    `json:"message"`
		}
		if minjson.Unmarshal(body, &e) != nil || e.Type == "" {
			e.Type, e.Message = protocol.ErrServer, fmt.Sprintf("HTTP status %d", status)
		}
		return newError(e.Type, e.Message, nil)
	}
	if err := minjson.Unmarshal(body, out); err != nil {
		return newError(protocol.ErrServer, fmt.Sprintf("unreadable answer from %s", path), err)
	}
	return nil
}
