//go:build js && wasm

package jsutil

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hack-pad/safejs"
)

// onWorker reports whether the calling goroutine is FuncOf's worker.
func onWorker() bool {
	buf := make([]byte, 64<<10)
	return strings.Contains(string(buf[:runtime.Stack(buf, false)]), "jsutil.work(")
}

// TestFuncOf checks that a call from JavaScript runs on the worker, event
// or not, and that one made from inside a call on the worker (a listener
// calling back) runs at once where it came, with its result, instead of
// waiting for the busy worker.
func TestFuncOf(t *testing.T) {
	inner, err := FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		n, _ := args[0].Int()
		return map[string]any{"n": n * 2, "worker": onWorker()}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Release()
	outer, err := FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		// From the worker into JavaScript and back into Go: nested.
		v, err := inner.Value().Invoke(21)
		if err != nil {
			return err.Error()
		}
		var b Batch
		return map[string]any{"n": b.Int(b.Get(v, "n")), "innerWorker": b.Bool(b.Get(v, "worker")), "worker": onWorker()}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer outer.Release()

	t.Run("a call", func(t *testing.T) {
		v, err := outer.Value().Invoke()
		if err != nil {
			t.Fatal(err)
		}
		var b Batch
		n, w, iw := b.Int(b.Get(v, "n")), b.Bool(b.Get(v, "worker")), b.Bool(b.Get(v, "innerWorker"))
		if err := b.Err(); err != nil || n != 42 {
			t.Fatalf("got n = %d (%v), want 42", n, err)
		}
		if !w || !iw {
			t.Errorf("ran on the worker: outer %v, nested %v; want both (the nested one inline, from the worker)", w, iw)
		}
	})

	t.Run("an event", func(t *testing.T) {
		got := make(chan bool, 1)
		f, err := FuncOf(func(safejs.Value, []safejs.Value) any {
			got <- onWorker()
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		defer f.Release()
		if _, err := safejs.Global().Call("setTimeout", f.Value(), 0); err != nil {
			t.Fatal(err)
		}
		select {
		case w := <-got:
			if !w {
				t.Error("a timer's callback did not run on the worker")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the timer's callback never ran")
		}
	})
}
