package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/mekong-fhir/mekong/internal/store"
)

// testHealthCards: two gateway instances on one database act as one issuer
// (one signing key, one secret, one revocation list per key).
func testHealthCards(t *testing.T, s store.Store) {
	ctx := context.Background()
	hc, ok := s.(store.HealthCards)
	if !ok {
		t.Fatal("the store does not keep SMART Health Card keys")
	}
	t0 := time.Unix(1767225600, 0).UTC()
	key := func(kid string) store.HealthCardKey {
		return store.HealthCardKey{Kid: kid, PublicJWK: []byte(`{"kid":"` + kid + `"}`), PrivatePEM: []byte("PEM " + kid), Created: t0}
	}
	// Instances racing to create the first key all end up with one.
	var wg sync.WaitGroup
	got := make([]*store.HealthCardKey, 8)
	errs := make([]error, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = hc.EnsureHealthCardKey(ctx, key(string(rune('a'+i))))
		}()
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if got[i].Kid != got[0].Kid || string(got[i].PrivatePEM) != "PEM "+got[0].Kid {
			t.Fatalf("instance %d signs with %s, instance 0 with %s", i, got[i].Kid, got[0].Kid)
		}
	}
	first := got[0].Kid
	keys, err := hc.HealthCardKeys(ctx)
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys %v %v", keys, err)
	}
	// Rotation: the old key's private part is destroyed, its public key stays.
	if err := hc.RotateHealthCardKey(ctx, key("z")); err != nil {
		t.Fatal(err)
	}
	keys, _ = hc.HealthCardKeys(ctx)
	if len(keys) != 2 || keys[0].Kid != "z" || !keys[0].Retired.IsZero() || keys[1].Kid != first || keys[1].PrivatePEM != nil || keys[1].Retired.IsZero() {
		t.Fatalf("after rotation: %+v", keys)
	}
	if k, _ := hc.EnsureHealthCardKey(ctx, key("y")); k.Kid != "z" {
		t.Fatalf("signing key after rotation %s", k.Kid)
	}
	// Removal (a compromised key): a retired key leaves the key set; the
	// signing key and an unknown kid are not removed.
	if err := hc.RotateHealthCardKey(ctx, key("x")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		kid  string
		want bool
	}{{"x", false}, {"nope", false}, {"z", true}, {"z", false}} {
		if ok, err := hc.RemoveHealthCardKey(ctx, c.kid); err != nil || ok != c.want {
			t.Fatalf("remove %s: %v %v, want %v", c.kid, ok, err, c.want)
		}
	}
	keys, _ = hc.HealthCardKeys(ctx)
	if len(keys) != 2 || keys[0].Kid != "x" || keys[1].Kid != first {
		t.Fatalf("after removal: %+v", keys)
	}
	// One secret, whoever asks first.
	s1, err := hc.HealthCardSecret(ctx, []byte("one"))
	if err != nil {
		t.Fatal(err)
	}
	if s2, _ := hc.HealthCardSecret(ctx, []byte("two")); string(s1) != "one" || string(s2) != "one" {
		t.Fatalf("secrets %q %q", s1, s2)
	}
	// Revocations: the counter starts at 1 and counts changes; a repeat changes nothing.
	if _, ctr, _ := hc.HealthCardRevocations(ctx, "z"); ctr != 1 {
		t.Fatalf("initial ctr %d", ctr)
	}
	r := store.HealthCardRevocation{Kid: "z", RID: "AQPCj4wwk6Mt", Before: t0, Revoked: t0, Reason: "issued in error"}
	for i := 0; i < 2; i++ {
		if ctr, err := hc.RevokeHealthCards(ctx, r); err != nil || ctr != 2 {
			t.Fatalf("revoke %d: ctr %d %v", i, ctr, err)
		}
	}
	if ctr, _ := hc.RevokeHealthCards(ctx, store.HealthCardRevocation{Kid: "z", RID: "lHKzqFUMjhs", Revoked: t0.Add(time.Second)}); ctr != 3 {
		t.Fatalf("ctr %d", ctr)
	}
	revs, ctr, err := hc.HealthCardRevocations(ctx, "z")
	if err != nil || ctr != 3 || len(revs) != 2 || revs[0].RID != "AQPCj4wwk6Mt" || !revs[0].Before.Equal(t0) || revs[0].Reason != "issued in error" || !revs[1].Before.IsZero() {
		t.Fatalf("revocations %+v ctr %d %v", revs, ctr, err)
	}
	if revs, ctr, _ := hc.HealthCardRevocations(ctx, first); len(revs) != 0 || ctr != 1 {
		t.Fatalf("another key's list: %v %d", revs, ctr)
	}
}
