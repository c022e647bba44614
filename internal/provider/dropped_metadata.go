package provider

import (
	"context"
	"encoding/json"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	apitypes "k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// droppedKeys are the keys of the map attribute name that the state has
// and the plan does not: the labels or annotations the configuration
// stopped setting.
func droppedKeys(ctx context.Context, state tfsdk.State, plan tfsdk.Plan, name string) []string {
	var before, after types.Map
	if state.GetAttribute(ctx, path.Root(name), &before).HasError() || plan.GetAttribute(ctx, path.Root(name), &after).HasError() {
		return nil
	}
	if before.IsNull() || before.IsUnknown() || after.IsUnknown() {
		return nil
	}
	var dropped []string
	kept := after.Elements()
	for k := range before.Elements() {
		if _, ok := kept[k]; !ok {
			dropped = append(dropped, k)
		}
	}
	sort.Strings(dropped)
	return dropped
}

// removeDropped deletes keys the configuration dropped from the maps of
// obj at the given field paths (such as metadata.labels), once the
// server-side apply is done. The apply gives up only the fields no other
// manager owns; a label set with kubectl and imported is co-owned, and
// would stay. The state had the key and the configuration removed it:
// that is the user's word that it goes.
func removeDropped(ctx context.Context, cl client.Client, obj client.Object, dropped map[string][]string) error {
	data := droppedPatch(dropped)
	if data == nil {
		return nil
	}
	return client.IgnoreNotFound(cl.Patch(ctx, obj, client.RawPatch(apitypes.MergePatchType, data)))
}

// droppedPatch is the JSON merge patch that deletes the keys at each field
// path, or nil when there are none.
func droppedPatch(dropped map[string][]string) []byte {
	patch := map[string]any{}
	for field, keys := range dropped {
		if len(keys) == 0 {
			continue
		}
		nulls := map[string]any{}
		for _, k := range keys {
			nulls[k] = nil
		}
		setNested(patch, strings.Split(field, "."), nulls)
	}
	if len(patch) == 0 {
		return nil
	}
	data, _ := json.Marshal(patch) // maps of strings and nils always marshal
	return data
}

func setNested(m map[string]any, fields []string, value any) {
	for _, f := range fields[:len(fields)-1] {
		next, ok := m[f].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[f] = next
		}
		m = next
	}
	m[fields[len(fields)-1]] = value
}
