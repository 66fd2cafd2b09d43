package seed

import "time"

// rng is splitmix64 (Steele, Lea and Flood, 2014). It is written out here
// rather than taken from math/rand so that the output cannot change with the
// Go release: "same Config, same bytes" is the package's promise. Decisions
// use integer arithmetic only, since the spec lets a compiler fuse x*y+z on
// some architectures, which could flip a floating-point threshold.
type rng struct{ s uint64 }

func mix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// patientRNG gives every patient its own stream, so patient n is the same
// whatever the number of patients generated, and generation can be sharded.
func patientRNG(seed int64, n int) *rng {
	return &rng{s: mix(uint64(seed)^0x6d656b6f6e67) ^ mix(uint64(n)+0x9e3779b97f4a7c15)}
}

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return mix(r.s)
}

// intn returns a number in [0, n) for 0 < n < 2^32 (Lemire's multiply-shift;
// its bias of at most n/2^32 does not matter for synthetic data).
func (r *rng) intn(n int) int {
	return int(((r.next() >> 32) * uint64(n)) >> 32)
}

// between returns a number in [lo, hi].
func (r *rng) between(lo, hi int) int { return lo + r.intn(hi-lo+1) }

// permille reports true with probability p/1000.
func (r *rng) permille(p int) bool { return r.intn(1000) < p }

// digits returns n random decimal digits.
func (r *rng) digits(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + r.intn(10))
	}
	return string(b)
}

func pick[T any](r *rng, xs []T) T { return xs[r.intn(len(xs))] }

// weighted is a choice with an integer weight.
type weighted[T any] struct {
	w int
	v T
}

func choose[T any](r *rng, xs []weighted[T]) T {
	total := 0
	for _, x := range xs {
		total += x.w
	}
	k := r.intn(total)
	for _, x := range xs {
		if k < x.w {
			return x.v
		}
		k -= x.w
	}
	return xs[len(xs)-1].v
}

// permutation maps patient numbers one-to-one onto [0, m): identifier numbers
// look random yet can never collide, without remembering the ones issued.
type permutation struct{ a, b, m uint64 }

// newPermutation derives a bijection of [0, m) from the seed; m is a power of
// ten, so a is made odd and not a multiple of 5 (coprime with m).
func newPermutation(seed int64, salt, m uint64) permutation {
	h := mix(uint64(seed) ^ mix(salt))
	a := h%m | 1
	if a%5 == 0 {
		a += 2
	}
	return permutation{a: a % m, b: mix(h) % m, m: m}
}

func (p permutation) of(n int) uint64 { return (p.a*uint64(n) + p.b) % p.m }

// ict is Indochina Time, the zone of Cambodia, Thailand and Laos: every
// timestamp carries +07:00 as the source systems would send it.
var ict = time.FixedZone("+07:00", 7*3600)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, ict) }

// dayIn returns a random day in [from, to], or false when the range is empty.
func (r *rng) dayIn(from, to time.Time) (time.Time, bool) {
	if to.Before(from) {
		return time.Time{}, false
	}
	days := int(to.Sub(from)/(24*time.Hour)) + 1
	return from.AddDate(0, 0, r.intn(days)), true
}

// clinicTime sets a time of day in opening hours (07:00-16:59).
func (r *rng) clinicTime(d time.Time) time.Time {
	return time.Date(d.Year(), d.Month(), d.Day(), r.between(7, 16), r.intn(60), 0, 0, ict)
}

func dateTime(t time.Time) string { return t.Format("2006-01-02T15:04:05-07:00") }
func date(t time.Time) string     { return t.Format("2006-01-02") }
