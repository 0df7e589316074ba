//go:build race

package dir

// raceEnabled: the race detector slows the simulations tenfold.
const raceEnabled = true
