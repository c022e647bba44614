package provider

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-testing/plancheck"
)

// expectObservedKept is a plan check: the resource's observed attributes
// named keep their values in the plan (none is "known after apply"), as
// for a change that does not alter them.
func expectObservedKept(address string, attributes ...string) plancheck.PlanCheck {
	return observedKept{address: address, attributes: attributes}
}

type observedKept struct {
	address    string
	attributes []string
}

func (c observedKept) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	for _, rc := range req.Plan.ResourceChanges {
		if rc.Address != c.address {
			continue
		}
		unknown, _ := rc.Change.AfterUnknown.(map[string]any)
		for _, a := range c.attributes {
			if v, ok := unknown[a]; ok && anyUnknown(v) {
				resp.Error = fmt.Errorf("%s.%s is planned as known after apply (%v); the change does not alter it", c.address, a, v)
				return
			}
		}
		return
	}
	resp.Error = fmt.Errorf("%s is not in the plan", c.address)
}

// anyUnknown says whether a part of a plan's after_unknown marks a value
// unknown: true itself, or true anywhere in the lists and objects of a
// known collection.
func anyUnknown(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case []any:
		for _, e := range v {
			if anyUnknown(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range v {
			if anyUnknown(e) {
				return true
			}
		}
	}
	return false
}

// expectEmptyPlanNamingChanges is plancheck.ExpectEmptyPlan that names,
// for each resource it would change, the top-level attributes that differ.
func expectEmptyPlanNamingChanges() plancheck.PlanCheck { return emptyPlanNamingChanges{} }

type emptyPlanNamingChanges struct{}

func (emptyPlanNamingChanges) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	var errs []error
	for _, rc := range req.Plan.ResourceChanges {
		if rc.Change.Actions.NoOp() {
			continue
		}
		before, _ := rc.Change.Before.(map[string]any)
		after, _ := rc.Change.After.(map[string]any)
		unknown, _ := rc.Change.AfterUnknown.(map[string]any)
		var changed []string
		for k, v := range after {
			if !reflect.DeepEqual(before[k], v) || unknown[k] == true {
				changed = append(changed, fmt.Sprintf("%s: %v -> %v", k, before[k], v))
			}
		}
		sort.Strings(changed)
		errs = append(errs, fmt.Errorf("%s planned %v: %s", rc.Address, rc.Change.Actions, strings.Join(changed, "; ")))
	}
	resp.Error = errors.Join(errs...)
}
