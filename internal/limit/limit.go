package limit

import "reflect"

// Fill returns l with every field of a signed integer kind (int, int64,
// time.Duration, …) that is zero or negative replaced by the same field of
// def. Fields of other kinds are returned as they are in l.
func Fill[T any](l, def T) T {
	v := reflect.ValueOf(&l).Elem()
	d := reflect.ValueOf(def)
	for i := range v.NumField() {
		switch f := v.Field(i); f.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			if f.Int() <= 0 {
				f.SetInt(d.Field(i).Int())
			}
		}
	}
	return l
}
