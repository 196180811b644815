package vp8enc

import "errors"

var (
	// ErrInvalidSize is returned by New for a width or height outside
	// 1..MaxDimension.
	ErrInvalidSize = errors.New("vp8enc: invalid frame size")
	// ErrInvalidQuantizer is returned by SetQuantizer for an index outside
	// MinQuantizer..MaxQuantizer.
	ErrInvalidQuantizer = errors.New("vp8enc: invalid quantizer index")
	// ErrImageMismatch is returned by Encode for an image that is not 4:2:0,
	// whose size differs from the encoder's, or whose planes are too short
	// for its rectangle.
	ErrImageMismatch = errors.New("vp8enc: image does not fit the encoder")
	// ErrFrameTooLarge is returned by Encode when the first partition would
	// not fit the 19-bit size field of the frame tag. It takes a frame near
	// the format's maximum size to get there.
	ErrFrameTooLarge = errors.New("vp8enc: first partition too large")
)
