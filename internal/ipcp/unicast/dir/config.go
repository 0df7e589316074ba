package dir

import "time"

// Defaults of the configurable parameters, as the layer's enrollment
// configuration carries them.
const (
	DefaultAlpha      = 3
	DefaultK          = 8
	DefaultTExpire    = 86400 * time.Second
	DefaultTRefresh   = 900 * time.Second
	DefaultTReplicate = 900 * time.Second
)

// Built-in constants every member uses.
const (
	// MaxLookups bounds the outstanding lookups (distinct keys).
	MaxLookups = 128
	// MaxValues is the most values a FIND_VALUE response carries.
	MaxValues = 8
	// TResp is how long a request waits for its response before the
	// lookup gives up on that peer (and tries it once more, or another).
	TResp = 2 * time.Second
	// TCache is how long the answer of a remote lookup is kept.
	TCache = 60 * time.Second
	// NRepub: a local value is republished when its expiry is within
	// NRepub × TReplicate.
	NRepub = 5
)

// Local bounds on state that a peer's messages could otherwise grow
// without limit. They are far above what a layer needs.
const (
	maxKeys        = 1 << 16 // distinct keys stored for others
	maxValsPerKey  = 64      // values stored for others under one key
	maxValueLen    = 64      // bytes of one stored value
	maxCandidates  = 64      // peers a lookup remembers besides those in flight
	maxTries       = 2       // requests to one peer in one lookup
	maxFails       = 2       // unanswered requests in a row before a contact is dropped
	maxCache       = 4096    // remembered lookup answers
	bootstrapFirst = time.Millisecond
	bootstrapMax   = time.Second
)

// Config holds a DHT's parameters. Zero fields take the defaults.
type Config struct {
	IDLen      int           // bytes of node IDs and keys: the layer's hash length (≥ MinIDLen)
	Alpha      int           // parallel requests per lookup, and STOREs per registration
	K          int           // bucket size and contacts per response
	TExpire    time.Duration // lifetime of a published value
	TRefresh   time.Duration // bucket refresh interval
	TReplicate time.Duration // replication interval
	Peer       uint64        // address of the member to bootstrap through; 0 for the first member
}

func (c Config) withDefaults() Config {
	if c.IDLen == 0 {
		c.IDLen = 32
	}
	if c.Alpha <= 0 {
		c.Alpha = DefaultAlpha
	}
	if c.K <= 0 {
		c.K = DefaultK
	}
	if c.TExpire <= 0 {
		c.TExpire = DefaultTExpire
	}
	if c.TRefresh <= 0 {
		c.TRefresh = DefaultTRefresh
	}
	if c.TReplicate <= 0 {
		c.TReplicate = DefaultTReplicate
	}
	return c
}

// Interval is how often the maintenance tasks run, derived from the
// parameters as every member derives it (whole seconds):
//
//	g1 = gcd(t_expire, t_expire − 5·t_replicate)
//	g2 = gcd(g1, gcd(t_replicate, t_refresh)) / 2
//	interval = max(1, g2 / 5)
//
// 90 s with the defaults.
func (c Config) Interval() time.Duration {
	c = c.withDefaults()
	e := int64(c.TExpire / time.Second)
	r := int64(c.TReplicate / time.Second)
	f := int64(c.TRefresh / time.Second)
	g1 := gcd(e, e-NRepub*r)
	g2 := gcd(g1, gcd(r, f)) / 2
	return time.Duration(max(1, g2/5)) * time.Second
}

func gcd(a, b int64) int64 {
	if a < 0 {
		a = -a
	}
	if b < 0 {
		b = -b
	}
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
