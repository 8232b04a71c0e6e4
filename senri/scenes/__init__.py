"""Sample worlds built from real photographs, for checking the real vision models end to end.

`senri.synth` draws solid shapes that simple operators (motion, colour) can be checked on;
the worlds here composite scikit-image photo cutouts that the learned detector recognises:
`street` (people, motorcycles, a horse crossing the frame) with `summary` to run and score it.
"""
