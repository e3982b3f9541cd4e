//go:build !race

package xmlsec

const raceEnabled = false
