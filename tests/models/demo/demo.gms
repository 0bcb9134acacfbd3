$title times-doctor demo: a dense LP that keeps each LP algorithm busy for a few seconds
*-----------------------------------------------------------------------------*
* 990 rows and 990 columns, nearly every coefficient non-zero, all from integer
* formulas (no random numbers), so make_demo_mps.py beside this file writes the
* very same matrix for the GAMS stand-in.  It fits CPLEX Community Edition
* (at most 1000 rows and 1000 columns) and the GAMS demo licence (2000).
* Plain on purpose: times-doctor passes lp=<solver> and optfile=1 itself.
*-----------------------------------------------------------------------------*
Set i 'rows' / r1*r990 /, j 'columns' / c1*c990 /;

Parameter a(i,j) 'coefficients in [-0.5, 0.499]'
          b(i)   'right-hand sides'
          c(j)   'costs';
a(i,j) = (mod(ord(i)*ord(j)*7919 + ord(i)*31 + ord(j)*17, 1000) - 500) / 1000;
b(i)   = mod(ord(i)*13, 50) + 1;
c(j)   = mod(ord(j)*37, 100) / 100 - 0.3;

Positive Variable x(j);
Free Variable z;
x.up(j) = 10;

Equation row(i), obj;
row(i).. sum(j, a(i,j)*x(j)) =l= b(i);
obj..    z =e= sum(j, c(j)*x(j));

Model demo / all /;
solve demo using lp minimizing z;
