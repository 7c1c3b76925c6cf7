package jsonwalk

func setAVX2(on bool) { useAVX2 = on }
