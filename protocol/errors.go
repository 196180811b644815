package protocol

import "fmt"

// ErrorType is the `type` of an ERROR message, and of the SDK's errors. The
// values are SkyWay's, plus invalid-message.
type ErrorType string

// The error types.
const (
	ErrInvalidID        ErrorType = "invalid-id"
	ErrInvalidKey       ErrorType = "invalid-key"
	ErrInvalidDomain    ErrorType = "invalid-domain"
	ErrAuthentication   ErrorType = "authentication"
	ErrUnavailableID    ErrorType = "unavailable-id"
	ErrPeerUnavailable  ErrorType = "peer-unavailable"
	ErrPermission       ErrorType = "permission"
	ErrRoom             ErrorType = "room-error"
	ErrDisconnected     ErrorType = "disconnected"
	ErrSocket           ErrorType = "socket-error"
	ErrServer           ErrorType = "server-error"
	ErrList             ErrorType = "list-error"
	ErrSignalingLimited ErrorType = "signaling-limited"
	ErrSFULimited       ErrorType = "sfu-limited"
	ErrTURNLimited      ErrorType = "turn-limited"
	// ErrInvalidMessage: the server refused a message it could not accept
	// (malformed, unknown type, missing or mistyped field, over a limit).
	// The connection stays usable. skywasm's addition to SkyWay's list.
	ErrInvalidMessage ErrorType = "invalid-message"
)

// ProtocolError is a refusal with a SkyWay error type. The server sends it to
// the client as an ERROR message; the SDK returns it to the application.
type ProtocolError struct {
	Type    ErrorType
	Message string
}

// Errorf returns a *ProtocolError of type t.
func Errorf(t ErrorType, format string, args ...any) *ProtocolError {
	return &ProtocolError{Type: t, Message: fmt.Sprintf(format, args...)}
}

func (e *ProtocolError) Error() string { return string(e.Type) + ": " + e.Message }
