package protocol_test

import (
	"fmt"

	"github.com/skywasm/skywasm/protocol"
)

// A server validates a client's frame and relays it with the sender's ID,
// without decoding it into Go values.
func ExampleParse() {
	var m protocol.ClientMessage
	frame := []byte(`{"type":"SEND_FORCE_CLOSE","payload":{"dst":"bob","connectionId":"mc_1"}}`)
	if err := protocol.Parse(&m, frame, false); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s to %s\n", m.Type, m.Dst)
	fmt.Println(string(protocol.AppendRelay(nil, &m, "alice")))

	err := protocol.Parse(&m, []byte(`{"type":"SEND_FORCE_CLOSE","payload":{"dst":"bob"}}`), false)
	fmt.Println(err)
	// Output:
	// SEND_FORCE_CLOSE to bob
	// {"type":"FORCE_CLOSE","payload":{"src":"alice","dst":"bob","connectionId":"mc_1"}}
	// invalid-message: SEND_FORCE_CLOSE: missing field "connectionId"
}
