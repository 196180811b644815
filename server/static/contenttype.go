package static

import (
	"path"
	"strings"
)

// contentType is the Content-Type of a file by its name. The table is
// fixed rather than mime.TypeByExtension's, which reads the system's tables
// and so differs between machines: Debian's maps .ts to video/mp2t.
//
// TypeScript (index.d.ts, any .ts) is text/plain: the type the TypeScript
// project once proposed, application/typescript, was never registered, the
// file is read by people and editors and never run by a browser, and as
// text/plain a browser shows it instead of downloading it.
func contentType(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".wasm":
		return "application/wasm" // WebAssembly.instantiateStreaming requires it
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8" // RFC 9239
	case ".html":
		return "text/html; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".json", ".map":
		return "application/json"
	case ".ts", ".txt", ".md":
		return "text/plain; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".gif":
		return "image/gif"
	case ".webp":
		return "image/webp"
	case ".ico":
		return "image/vnd.microsoft.icon"
	case ".woff2":
		return "font/woff2"
	case ".webm":
		return "video/webm"
	case ".mp4":
		return "video/mp4"
	case ".wav":
		return "audio/wav"
	}
	return "application/octet-stream"
}
