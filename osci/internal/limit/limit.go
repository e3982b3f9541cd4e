package limit

import "github.com/stadt-erkelenz/bebpo-gateway/internal/limit"

// Fill is internal/limit.Fill.
func Fill[T any](l, def T) T { return limit.Fill(l, def) }
