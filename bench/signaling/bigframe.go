package signaling

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/skywasm/skywasm/protocol"
)

// Metric keys of the big-frame row.
const (
	keyBigPeak      = "big/peak"
	keyBigDelivered = "big/delivered"
	keyBigDropped   = "big/dropped"
)

// The big-frame row: bigSenders peers in rooms of bigRoom, each sending one
// room message of protocol.MaxRoomDataSize at once, against a server started
// with -frame-budget bigBudget.
const (
	bigSenders = 50
	bigRoom    = 10
	bigBudget  = 512 << 20
	bigWait    = 120 * time.Second
)

// bigFrames measures the peak resident memory of a skywasm server while
// bigSenders peers each send 20 MiB of room data at once: bounded by its
// large-frame budget, the overflow dropped with ERROR signaling-limited.
func bigFrames(ctx context.Context, sky *target, figs figures, progress io.Writer) error {
	t := *sky
	t.command = func(port int) *exec.Cmd {
		cmd := sky.command(port)
		cmd.Args = append(cmd.Args, "-frame-budget", strconv.Itoa(bigBudget))
		return cmd
	}
	srv, err := startProcess(ctx, &t)
	if err != nil {
		return err
	}
	defer srv.stop()
	base, err := srv.rss()
	if err != nil {
		return err
	}
	var (
		delivered, dropped atomic.Int64
		joined             sync.WaitGroup
		readers            sync.WaitGroup
	)
	conns := make([]*websocket.Conn, bigSenders)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.CloseNow()
			}
		}
		readers.Wait()
	}()
	for i := range conns {
		dctx, cancel := context.WithTimeout(ctx, dialTimeout)
		c, _, err := websocket.Dial(dctx, t.dialURL(srv.addr, "big"+strconv.Itoa(i)), nil)
		cancel()
		if err != nil {
			return fmt.Errorf("failed to dial big-frame peer %d: %w", i, err)
		}
		c.SetReadLimit(-1)
		conns[i] = c
		join, _ := protocol.Marshal(protocol.RoomJoin, protocol.RoomPayload{RoomName: "big" + strconv.Itoa(i/bigRoom), RoomType: protocol.Mesh})
		if err := c.Write(ctx, websocket.MessageText, join); err != nil {
			return fmt.Errorf("big-frame peer %d: %w", i, err)
		}
		joined.Add(1)
		readers.Go(func() {
			own := false
			for {
				typ, r, err := c.Reader(context.WithoutCancel(ctx))
				if err != nil {
					return
				}
				if typ == websocket.MessageBinary {
					_, _ = io.Copy(io.Discard, r)
					delivered.Add(1)
					continue
				}
				b, _ := io.ReadAll(r)
				var env protocol.Envelope
				if json.Unmarshal(b, &env) != nil {
					continue
				}
				switch env.Type {
				case protocol.RoomUserJoin:
					var j protocol.RoomUserJoinPayload
					if json.Unmarshal(env.Payload, &j) == nil && j.Src == "big"+strconv.Itoa(i) && !own {
						own = true
						joined.Done()
					}
				case protocol.Error:
					var e protocol.ErrorPayload
					_ = json.Unmarshal(env.Payload, &e)
					if strings.Contains(e.Message, "to this client") {
						dropped.Add(1) // one member's copy
					} else {
						dropped.Add(bigRoom - 1) // the sender's message, for every member
					}
				}
			}
		})
	}
	joined.Wait()
	// One frame a room, shared by its senders.
	data := make([]byte, protocol.MaxRoomDataSize)
	frames := make([][]byte, (bigSenders+bigRoom-1)/bigRoom)
	for r := range frames {
		frames[r] = protocol.BinaryFrame([]byte(`{"type":"ROOM_SEND_DATA","payload":{"roomName":"big`+strconv.Itoa(r)+`"}}`), data)
	}
	var senders sync.WaitGroup
	start := time.Now()
	for i, c := range conns {
		senders.Go(func() { _ = c.Write(ctx, websocket.MessageBinary, frames[i/bigRoom]) })
	}
	senders.Wait()
	// Every copy is accounted for once delivered or dropped with an ERROR.
	for want := int64(bigSenders * (bigRoom - 1)); delivered.Load()+dropped.Load() < want; {
		if time.Since(start) > bigWait {
			return fmt.Errorf("big frames: %d of %d copies delivered or dropped within %v", delivered.Load()+dropped.Load(), want, bigWait)
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
	peak, err := peakKiB(srv.cmd.Process.Pid)
	if err != nil {
		return err
	}
	figs.add(keyBigPeak, (peak-base)/1024)
	figs.add(keyBigDelivered, float64(delivered.Load()))
	figs.add(keyBigDropped, float64(dropped.Load()))
	fmt.Fprintf(progress, "big frames: peak RSS %.0f MiB above idle, %d delivered, %d dropped with an ERROR, %.1f s\n",
		(peak-base)/1024, delivered.Load(), dropped.Load(), time.Since(start).Seconds())
	return srv.alive()
}
