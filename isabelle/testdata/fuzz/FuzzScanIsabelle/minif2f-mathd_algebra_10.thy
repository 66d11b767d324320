go test fuzz v1
string("(*\n  Authors: Albert Qiaochu Jiang\n*)\n\ntheory mathd_algebra_10 imports\nComplex_Main\n\nbegin\n\ntheorem mathd_algebra_10:\n  \"abs ((120::real) / 100 * 30 - 130 / 100 * 20) = 10\"\n  by eval\n\nend")
