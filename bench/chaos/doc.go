// Package chaos is the provider's chaos suite: the real terraform CLI and
// provider against the lab while the lab's clouds fail calls, the
// processes are killed at random moments, and objects and cloud resources
// drift out of band. Each scenario counts runs that converged, duplicate
// and orphaned instances, and what destroy left; the suite prints one
// table of them and fails when any count but converged and repaired is
// not zero.
//
// It is not part of `make test`: `make chaos` runs it (the tests carry the
// build tag chaos). CHAOS_SEED seeds every random choice; CHAOS_KILLS and
// CHAOS_DESTROY_KILLS say how many applies and destroys are killed.
package chaos
