package static

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"io/fs"
	"sync"
	"time"
)

// etagCache holds the ETag of each file served from one tree, so that a
// file is hashed once, not per request. An entry stands for a file's size
// and modification time: when either changes, as when a dev rebuild
// replaces sdk.wasm under a running server, the file is hashed again. It
// holds one entry per file name that has been served, which the tree on
// disk bounds.
type etagCache struct {
	mu sync.Mutex
	m  map[string]*etagEntry
}

type etagEntry struct {
	size  int64
	mod   time.Time
	ready chan struct{} // closed once tag or err is set
	tag   string
	err   error
}

// get returns the ETag of the file name, open as f with info st. On a miss
// it hashes f and seeks it back to its start; requests for the same file
// meanwhile wait for that hash rather than hash it again, until ctx ends.
func (c *etagCache) get(ctx context.Context, name string, f io.ReadSeeker, st fs.FileInfo) (string, error) {
	c.mu.Lock()
	e := c.m[name]
	if e != nil && e.size == st.Size() && e.mod.Equal(st.ModTime()) {
		c.mu.Unlock()
		select {
		case <-e.ready:
			return e.tag, e.err
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	if c.m == nil {
		c.m = make(map[string]*etagEntry)
	}
	e = &etagEntry{size: st.Size(), mod: st.ModTime(), ready: make(chan struct{})}
	c.m[name] = e
	c.mu.Unlock()

	e.tag, e.err = hashETag(f)
	if e.err != nil {
		// Not cached: the next request tries again.
		c.mu.Lock()
		if c.m[name] == e {
			delete(c.m, name)
		}
		c.mu.Unlock()
	}
	close(e.ready)
	return e.tag, e.err
}

// hashETag returns a strong ETag for the bytes of f, which it reads to the
// end and then seeks back to the start. It is a hash of the content, not of
// the size and time, so that it stays the same across server restarts and
// rebuilds that produce the same bytes, and differs between a file and its
// compressed variants.
func hashETag(f io.ReadSeeker) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("failed to hash: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("failed to rewind after hashing: %w", err)
	}
	var sum [sha256.Size]byte
	// 144 bits, 24 characters: collisions between versions of one file are
	// out of reach, and the header stays short.
	return `"` + base64.RawURLEncoding.EncodeToString(h.Sum(sum[:0])[:18]) + `"`, nil
}
