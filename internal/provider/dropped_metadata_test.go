package provider

import "testing"

func TestDroppedPatch(t *testing.T) {
	if p := droppedPatch(map[string][]string{"metadata.labels": nil}); p != nil {
		t.Errorf("nothing dropped: patch %s", p)
	}
	got := string(droppedPatch(map[string][]string{
		"metadata.labels":               {"team"},
		"metadata.annotations":          {"a", "b"},
		"spec.template.metadata.labels": {"role"},
	}))
	want := `{"metadata":{"annotations":{"a":null,"b":null},"labels":{"team":null}},"spec":{"template":{"metadata":{"labels":{"role":null}}}}}`
	if got != want {
		t.Errorf("patch\n got %s\nwant %s", got, want)
	}
}
