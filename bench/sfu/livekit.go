//go:build !js

package sfu

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	protologger "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/stun/v3"
	"github.com/pion/webrtc/v4"
)

// LiveKit's dev mode: its API key and secret, and its ports on 127.0.0.1.
const (
	lkKey     = "devkey"
	lkSecret  = "secret"
	lkHTTP    = "127.0.0.1:7880"
	lkStartup = 60 * time.Second // it loads slowly on a busy machine
)

// livekitTarget is LiveKit's server from the binary bin (built by
// scripts/bench.sh with `go install
// github.com/livekit/livekit-server/cmd/server@v1.13.5`), with bots on
// LiveKit's Go SDK (server-sdk-go v2.19.0, which builds against this
// module's pion/webrtc).
//
// The SDK makes its own pion SettingEngine, without loopback candidates,
// and in the bench's loopback-only namespace a bot then has no host
// candidate at all. It does gather server-reflexive candidates, from a
// socket on 0.0.0.0, with the STUN servers LiveKit hands it: so the bench
// runs a STUN responder on 127.0.0.1 and names it in LiveKit's
// rtc.stun_servers. The bot's candidate is then 127.0.0.1 and its packets
// go straight to LiveKit's UDP port, as skywasm's bots' do.
func livekitTarget(bin string) target {
	// The SDK and its pion log every state change to stderr, into the
	// progress lines.
	lksdk.SetLogger(protologger.GetDiscardLogger())
	return target{
		name: "LiveKit",
		start: func(ctx context.Context, _ int, logs io.Writer) (*server, error) {
			return startLiveKit(ctx, bin, logs)
		},
		publisher:  startLKPublisher,
		subscriber: startLKSubscriber,
	}
}

// startLiveKit runs `server --dev --bind 127.0.0.1` with a configuration
// written here, and waits until it answers HTTP.
func startLiveKit(ctx context.Context, bin string, logs io.Writer) (*server, error) {
	stunAddr, stopSTUN, err := startSTUN()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "skywasm-bench-livekit-")
	if err != nil {
		stopSTUN()
		return nil, fmt.Errorf("failed to write LiveKit's configuration: %w", err)
	}
	cfg := fmt.Sprintf(`rtc:
  tcp_port: 7881
  udp_port: 7882
  use_external_ip: false
  stun_servers: [%q]
logging:
  level: warn
`, stunAddr)
	file := filepath.Join(dir, "livekit.yaml")
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		stopSTUN()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("failed to write LiveKit's configuration: %w", err)
	}
	cmd := exec.Command(bin, "--dev", "--bind", "127.0.0.1", "--config", file)
	// Dev mode logs at debug level whatever the file says: keep it out
	// of the progress lines, in a file beside the configuration.
	log, err := os.Create(filepath.Join(dir, "livekit.log"))
	if err == nil {
		cmd.Stdout, cmd.Stderr = log, log
		err = cmd.Start()
	}
	if err != nil {
		stopSTUN()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("failed to start %s: %w", bin, err)
	}
	s := &server{cmd: cmd, url: "ws://" + lkHTTP, dir: dir, waited: make(chan struct{}), onStop: func() {
		stopSTUN()
		log.Close()
	}}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.waited)
	}()
	deadline := time.Now().Add(lkStartup)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+lkHTTP+"/", nil)
		if err != nil {
			s.stop()
			return nil, err
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				fmt.Fprintf(logs, "skywasm-bench sfu: LiveKit is up; its log is %s\n", log.Name())
				return s, nil
			}
		}
		if err := s.exited(); err != nil || time.Now().After(deadline) || ctx.Err() != nil {
			tail, _ := os.ReadFile(log.Name())
			if len(tail) > 2000 {
				tail = tail[len(tail)-2000:]
			}
			s.stop()
			return nil, fmt.Errorf("LiveKit did not answer on %s within %v (%v); the end of its log:\n%s", lkHTTP, lkStartup, err, tail)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// startSTUN answers STUN binding requests on a free port of 127.0.0.1
// until stop.
func startSTUN() (addr string, stop func(), err error) {
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("failed to start the STUN responder: %w", err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			req := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
			ua, ok := from.(*net.UDPAddr)
			if req.Decode() != nil || req.Type != stun.BindingRequest || !ok {
				continue
			}
			resp, err := stun.Build(stun.NewTransactionIDSetter(req.TransactionID), stun.BindingSuccess,
				&stun.XORMappedAddress{IP: ua.IP, Port: ua.Port}, stun.Fingerprint)
			if err == nil {
				_, _ = conn.WriteTo(resp.Raw, from)
			}
		}
	})
	return conn.LocalAddr().String(), func() {
		conn.Close()
		wg.Wait()
	}, nil
}

// lkJoin connects a LiveKit bot named id to room.
func lkJoin(srv *server, id, room string, cb *lksdk.RoomCallback, opts ...lksdk.ConnectOption) (*lksdk.Room, error) {
	info := lksdk.ConnectInfo{APIKey: lkKey, APISecret: lkSecret, RoomName: room, ParticipantIdentity: id}
	opts = append(opts, lksdk.WithConnectTimeout(20*time.Second))
	rm, err := lksdk.ConnectToRoom(srv.url, info, cb, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s failed to join LiveKit room %s: %w", id, room, err)
	}
	return rm, nil
}

// startLKPublisher is startPublisher for LiveKit: the same video, sent by
// publisher.send; a PLI or FIR from LiveKit asks for a keyframe.
func startLKPublisher(_ context.Context, srv *server, room string, index int, epoch time.Time) (*publisher, error) {
	p := &publisher{index: uint16(index), epoch: epoch}
	track, err := lksdk.NewLocalTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000},
		lksdk.WithRTCPHandler(func(pkt rtcp.Packet) {
			switch pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				p.keyframe.Store(true)
				p.plis.Add(1)
			}
		}))
	if err != nil {
		return nil, fmt.Errorf("failed to create the publisher's track: %w", err)
	}
	id := fmt.Sprintf("pub%d", index)
	rm, err := lkJoin(srv, id, room, lksdk.NewRoomCallback(), lksdk.WithAutoSubscribe(false))
	if err != nil {
		return nil, err
	}
	if _, err := rm.LocalParticipant.PublishTrack(track, &lksdk.TrackPublicationOptions{Name: "video", VideoWidth: 1280, VideoHeight: 720}); err != nil {
		rm.Disconnect()
		return nil, fmt.Errorf("%s failed to publish: %w", id, err)
	}
	p.write = func(pkt *rtp.Packet) error { return track.WriteRTP(pkt, nil) }
	p.leave = rm.Disconnect
	return p, nil
}

// startLKSubscriber is startSubscriber for LiveKit: it subscribes to
// every track and reads the video as skywasm's subscribers do. The SDK
// reads the receivers' RTCP itself.
func startLKSubscriber(_ context.Context, srv *server, _ *webrtc.API, room string, index, publishers int, epoch time.Time, recording *atomic.Bool) (*subscriber, error) {
	s := newSubscriber(fmt.Sprintf("sub%d", index), publishers, epoch, recording)
	cb := lksdk.NewRoomCallback()
	cb.OnTrackSubscribed = func(tr *webrtc.TrackRemote, _ *lksdk.RemoteTrackPublication, _ *lksdk.RemoteParticipant) {
		if tr.Kind() != webrtc.RTPCodecTypeVideo {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.stopped || s.reading[tr] {
			return
		}
		s.reading[tr] = true
		s.wg.Go(func() { s.readRTP(tr) })
	}
	rm, err := lkJoin(srv, s.name, room, cb)
	if err != nil {
		return nil, err
	}
	s.leave = rm.Disconnect
	return s, nil
}
