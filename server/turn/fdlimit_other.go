//go:build !unix

package turn

// defaultMaxAllocations is fixed where the file-descriptor limit cannot be
// read.
func defaultMaxAllocations() int { return 1024 }
