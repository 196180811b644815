// Package poller tells its owner when a connection that no goroutine is
// reading has something to read, so that a server's idle connections need
// no goroutine each: a goroutine blocked in a read keeps a stack of at
// least 2 KiB, commonly 4 to 8, for as long as the connection is quiet.
//
// Its rules, which every user relies on:
//   - A Conn is armed for one wake at a time (Conn.Arm): the wake function
//     is called once when the connection is readable, has hung up or
//     failed, never again until it is armed again. Arming a connection that
//     is readable already wakes it at once.
//   - Wake functions run on the poller's goroutine, one at a time, under
//     its lock: they must not block, nor call back into the Poller; they
//     start a goroutine or signal one.
//   - Closing the connection's file descriptor ends its watch without a
//     wake: whoever closes it must wake its owner itself.
//   - The goroutine exists only while a Conn is registered, and the epoll
//     instance with it, so a Poller needs no Close.
//
// It must not know what its wake functions do: no reads, no logging. It
// works on Linux (epoll); elsewhere Supported is false and Register fails.
package poller

import "errors"

// ErrUnsupported is returned by Register where the platform has no poller.
var ErrUnsupported = errors.New("poller: not supported on this platform")
