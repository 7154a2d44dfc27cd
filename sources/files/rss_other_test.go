//go:build !unix

package files

func peakRSS() int64 { return 0 }
