package lang

import (
	"fmt"
	"os"
	"path/filepath"
	"unicode/utf8"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// maxFileSize bounds what file() reads: a secret, not a data set.
const maxFileSize = 1 << 20

// functions returns the functions a spec may call.
func (l *loader) functions() map[string]function.Function {
	return map[string]function.Function{
		"env":       l.envFunc(),
		"file":      l.fileFunc(),
		"lower":     stdlib.LowerFunc,
		"upper":     stdlib.UpperFunc,
		"format":    stdlib.FormatFunc,
		"join":      stdlib.JoinFunc,
		"split":     stdlib.SplitFunc,
		"concat":    stdlib.ConcatFunc,
		"merge":     stdlib.MergeFunc,
		"trimspace": stdlib.TrimSpaceFunc,
		"replace":   stdlib.ReplaceFunc,
		"length":    stdlib.LengthFunc,
		"coalesce":  stdlib.CoalesceFunc,
		"tostring":  stdlib.MakeToFunc(cty.String),
		"tonumber":  stdlib.MakeToFunc(cty.Number),
		"tobool":    stdlib.MakeToFunc(cty.Bool),
		"toset":     stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
		"tolist":    stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
		"tomap":     stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)),
		"keys":      stdlib.KeysFunc,
		"values":    stdlib.ValuesFunc,
	}
}

// envFunc is env(NAME): the environment variable NAME, a sensitive value.
// An unset or empty variable is an error naming it.
func (l *loader) envFunc() function.Function {
	return function.New(&function.Spec{
		Description: "Returns the value of an environment variable, as a sensitive value.",
		Params:      []function.Parameter{{Name: "name", Type: cty.String}},
		Type:        function.StaticReturnType(cty.String),
		RefineResult: func(b *cty.RefinementBuilder) *cty.RefinementBuilder {
			return b.NotNull()
		},
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			name := args[0].AsString()
			v := l.getenv(name)
			if v == "" {
				return cty.UnknownVal(cty.String), fmt.Errorf("the environment variable %s is not set (or is empty)", name)
			}
			l.secrets = append(l.secrets, v)
			return cty.StringVal(v).Mark(markSensitive), nil
		},
	})
}

// fileFunc is file(PATH): the contents of a UTF-8 file, as they are, a
// sensitive value. A relative PATH is relative to the spec directory.
func (l *loader) fileFunc() function.Function {
	return function.New(&function.Spec{
		Description: "Returns the contents of a file, relative to the spec directory, as a sensitive value.",
		Params:      []function.Parameter{{Name: "path", Type: cty.String}},
		Type:        function.StaticReturnType(cty.String),
		RefineResult: func(b *cty.RefinementBuilder) *cty.RefinementBuilder {
			return b.NotNull()
		},
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			path := args[0].AsString()
			full := path
			if !filepath.IsAbs(full) {
				full = filepath.Join(l.dir, path)
			}
			b, err := readSmallFile(full)
			if err != nil {
				return cty.UnknownVal(cty.String), fmt.Errorf("cannot read the file %s: %w", path, err)
			}
			if !utf8.Valid(b) {
				return cty.UnknownVal(cty.String), fmt.Errorf("the file %s is not UTF-8 text", path)
			}
			l.secrets = append(l.secrets, string(b))
			return cty.StringVal(string(b)).Mark(markSensitive), nil
		},
	})
}

// readSmallFile reads a regular file of at most maxFileSize bytes.
func readSmallFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("no such file")
		}
		return nil, fmt.Errorf("%s", describe(err))
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("not a regular file")
	case fi.Size() > maxFileSize:
		return nil, fmt.Errorf("larger than %d bytes", maxFileSize)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s", describe(err))
	}
	return b, nil
}

// describe returns the cause of a file error without the path it names.
func describe(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}
