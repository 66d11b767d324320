(* shim: what Coquelicot >= 3.3 adds to Complex.v *)
Global Arguments Cplus _%C _%C. Global Arguments Copp _%C. Global Arguments Cminus _%C _%C.
Global Arguments Cmult _%C _%C. Global Arguments Cinv _%C. Global Arguments Cdiv _%C _%C.
Global Arguments Re _%C. Global Arguments Im _%C. Global Arguments Cmod _%C. Global Arguments Cconj _%C.
Fixpoint Cpow (c : C) (n : nat) : C := match n with O => RtoC (Coq.Reals.Rdefinitions.IZR (Coq.Numbers.BinNums.Zpos Coq.Numbers.BinNums.xH)) | S n => Cmult c (Cpow c n) end.
Global Arguments Cpow _%C _%nat.
Global Infix "^" := Cpow : C_scope.
