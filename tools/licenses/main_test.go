package main

import (
	"slices"
	"testing"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"MIT", "MIT License\n\nPermission is hereby granted, free of charge, to any person", []string{"MIT"}},
		{"BSD-3", "Redistribution and use in source and binary forms ... Neither the name of Google", []string{"BSD-3-Clause"}},
		{"BSD-2", "Redistribution and use in source and binary forms, with or without", []string{"BSD-2-Clause"}},
		{"Apache", "Apache License\n   Version 2.0, January 2004", []string{"Apache-2.0"}},
		{"ISC", "Permission to use, copy, modify, and/or distribute this software for any purpose with or without fee is hereby granted", []string{"ISC"}},
		{"dual", "Apache License Version 2.0 ... Permission is hereby granted, free of charge", []string{"Apache-2.0", "MIT"}},
		{"GPL", "GNU GENERAL PUBLIC LICENSE Version 3 ... Permission is hereby granted, free of charge", []string{"GPL"}},
		{"AGPL", "GNU AFFERO GENERAL PUBLIC LICENSE", []string{"AGPL"}},
		{"LGPL", "GNU LESSER GENERAL PUBLIC LICENSE", []string{"LGPL"}},
		{"unknown", "All rights reserved.", []string{"unknown"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := classify(tc.text); !slices.Equal(got, tc.want) {
				t.Errorf("classify = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSPDXCompatible(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		expr string
		want bool
	}{
		{"MIT", true},
		{"(MIT OR GPL-3.0)", true},
		{"MIT AND GPL-3.0", false},
		{"GPL-3.0", false},
		{"", false},
		{"UNLICENSED", false},
		{"Apache-2.0 AND BSD-3-Clause", true},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			t.Parallel()
			if got := spdxCompatible(tc.expr); got != tc.want {
				t.Errorf("spdxCompatible(%q) = %v, want %v", tc.expr, got, tc.want)
			}
		})
	}
}
