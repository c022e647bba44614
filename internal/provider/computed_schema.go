package provider

import (
	"fmt"

	dsschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
)

// computedAttribute is a resource attribute as a data source reports it:
// the same shape and descriptions, every part computed, no validators or
// plan modifiers. Data sources describe what a resource configures
// without repeating its schema.
func computedAttribute(a schema.Attribute) dsschema.Attribute {
	switch a := a.(type) {
	case schema.StringAttribute:
		return dsschema.StringAttribute{Computed: true, Sensitive: a.Sensitive, MarkdownDescription: a.MarkdownDescription}
	case schema.BoolAttribute:
		return dsschema.BoolAttribute{Computed: true, Sensitive: a.Sensitive, MarkdownDescription: a.MarkdownDescription}
	case schema.Int32Attribute:
		return dsschema.Int32Attribute{Computed: true, Sensitive: a.Sensitive, MarkdownDescription: a.MarkdownDescription}
	case schema.Int64Attribute:
		return dsschema.Int64Attribute{Computed: true, Sensitive: a.Sensitive, MarkdownDescription: a.MarkdownDescription}
	case schema.ListAttribute:
		return dsschema.ListAttribute{Computed: true, Sensitive: a.Sensitive, ElementType: a.ElementType, MarkdownDescription: a.MarkdownDescription}
	case schema.MapAttribute:
		return dsschema.MapAttribute{Computed: true, Sensitive: a.Sensitive, ElementType: a.ElementType, MarkdownDescription: a.MarkdownDescription}
	case schema.SingleNestedAttribute:
		return dsschema.SingleNestedAttribute{Computed: true, Sensitive: a.Sensitive, Attributes: computedAttributes(a.Attributes), MarkdownDescription: a.MarkdownDescription}
	case schema.ListNestedAttribute:
		return dsschema.ListNestedAttribute{Computed: true, Sensitive: a.Sensitive, MarkdownDescription: a.MarkdownDescription,
			NestedObject: dsschema.NestedAttributeObject{Attributes: computedAttributes(a.NestedObject.Attributes)}}
	case schema.MapNestedAttribute:
		return dsschema.MapNestedAttribute{Computed: true, Sensitive: a.Sensitive, MarkdownDescription: a.MarkdownDescription,
			NestedObject: dsschema.NestedAttributeObject{Attributes: computedAttributes(a.NestedObject.Attributes)}}
	}
	// A kind this function does not know yet: a bug, found by the data
	// source's schema test.
	panic(fmt.Sprintf("computedAttribute: unsupported attribute %T", a))
}

func computedAttributes(attrs map[string]schema.Attribute) map[string]dsschema.Attribute {
	out := make(map[string]dsschema.Attribute, len(attrs))
	for name, a := range attrs {
		out[name] = computedAttribute(a)
	}
	return out
}
