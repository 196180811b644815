package sdk

import (
	"errors"

	"github.com/skywasm/skywasm/protocol"
)

// ErrorType is SkyWay's `type` of an error, the string a page's `err.type`
// shows: ErrorPeerUnavailable and the other Error* constants.
type ErrorType = protocol.ErrorType

// The error types, SkyWay's, plus ErrorInvalidMessage.
const (
	// ErrorInvalidID: the peer ID is malformed.
	ErrorInvalidID ErrorType = protocol.ErrInvalidID
	// ErrorInvalidKey: the API key is malformed or unknown.
	ErrorInvalidKey ErrorType = protocol.ErrInvalidKey
	// ErrorInvalidDomain: the app does not allow the page's origin.
	ErrorInvalidDomain ErrorType = protocol.ErrInvalidDomain
	// ErrorAuthentication: the credential was refused.
	ErrorAuthentication ErrorType = protocol.ErrAuthentication
	// ErrorUnavailableID: another peer holds the ID.
	ErrorUnavailableID ErrorType = protocol.ErrUnavailableID
	// ErrorPeerUnavailable: the peer called or connected to is not there.
	ErrorPeerUnavailable ErrorType = protocol.ErrPeerUnavailable
	// ErrorPermission: the app does not allow what was asked.
	ErrorPermission ErrorType = protocol.ErrPermission
	// ErrorRoom: a room request was refused, or room data is unusable.
	ErrorRoom ErrorType = protocol.ErrRoom
	// ErrorDisconnected: the Peer is not connected to the server.
	ErrorDisconnected ErrorType = protocol.ErrDisconnected
	// ErrorSocket: the signaling server cannot be reached.
	ErrorSocket ErrorType = protocol.ErrSocket
	// ErrorServer: the server failed, or answered something unreadable.
	ErrorServer ErrorType = protocol.ErrServer
	// ErrorList: ListAllPeers is not allowed for the app.
	ErrorList ErrorType = protocol.ErrList
	// ErrorSignalingLimited, ErrorSFULimited and ErrorTURNLimited: the
	// app is over its limit of peers, SFU use or TURN use.
	ErrorSignalingLimited ErrorType = protocol.ErrSignalingLimited
	ErrorSFULimited       ErrorType = protocol.ErrSFULimited
	ErrorTURNLimited      ErrorType = protocol.ErrTURNLimited
	// ErrorInvalidMessage: the server refused a message it could not
	// accept; the connection stays usable. skywasm's addition to SkyWay's
	// list.
	ErrorInvalidMessage ErrorType = protocol.ErrInvalidMessage
	// ErrorWebRTC: the browser refused a WebRTC or media call (it threw, or
	// its promise rejected): the type SkyWay's negotiator gave such errors.
	// The Peer and its other connections carry on.
	ErrorWebRTC ErrorType = "webrtc"
)

// Error is an error of the SDK or of the server, with SkyWay's type string,
// which is what a page's `err.type` shows. Match it with errors.As, or with
// errors.Is against an *Error holding only the Type:
//
//	var e *sdk.Error
//	if errors.As(err, &e) && e.Type == sdk.ErrorPeerUnavailable { … }
type Error struct {
	// Type is SkyWay's error type.
	Type ErrorType
	// Message explains the error; it is not stable.
	Message string
	// ConnectionID is the connection the error belongs to, if one.
	ConnectionID string
	// Err is the underlying cause, if any.
	Err error
}

func (e *Error) Error() string {
	msg := string(e.Type) + ": " + e.Message
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error of the same Type with no Message,
// so errors.Is(err, &sdk.Error{Type: sdk.ErrorDisconnected}) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Type == e.Type
}

func newError(t ErrorType, msg string, cause error) *Error {
	return &Error{Type: t, Message: msg, Err: cause}
}

// Errors the SDK returns without a SkyWay type.
var (
	// ErrClosed is returned by methods of a Peer that was destroyed or of a
	// connection that was closed.
	ErrClosed = errors.New("sdk: closed")
	// ErrNotOpen is returned by DataConnection.Send before the channel
	// opened: SkyWay neither sends nor buffers such data.
	ErrNotOpen = errors.New("sdk: data connection is not open")
	// ErrUnsupportedCodec is returned for a videoCodec or audioCodec that this
	// build cannot negotiate.
	ErrUnsupportedCodec = errors.New("sdk: unsupported codec")
	// ErrTooManyRequests is returned by FetchPeerExists called again within a
	// second, as SkyWay's did.
	ErrTooManyRequests = errors.New("sdk: fetchPeerExists may be called once a second")
)
