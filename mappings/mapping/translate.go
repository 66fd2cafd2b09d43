package mapping

import "github.com/mekong-fhir/mekong/mappings/terminology"

// Translate maps code from system into target through the crosswalks. ok is
// true when exactly one target concept results; known is false when no
// crosswalk knows the code at all, the case a decoder reports as Unmapped
// (a code a map declares "unmatched" is known and not reported).
func Translate(t *terminology.Terminology, system, code, target string, deps ...terminology.Property) (c Coding, ok, known bool, ms []terminology.Match) {
	ms = t.Map(system, code, target, deps...)
	tc, ok := terminology.First(ms)
	return Coding{System: tc.System, Code: tc.Code, Display: tc.Display}, ok, len(ms) > 0, ms
}
