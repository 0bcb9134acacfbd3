*=============================================================================*
* solve.mod: solve and a short report.  The LP solver is whatever the driver
* chose with "option LP=...;" (times-doctor rewrites that line in its copy).
*=============================================================================*
TIMES.holdFixed = 0;
Solve TIMES minimizing OBJZ using LP;

Parameter REP_CAP(R,T,P) 'total capacity';
REP_CAP(R,T,P) = RESID(R,T,P) + sum(T2$LIVE(T,T2), VAR_NCAP.l(R,T2,P));
display OBJZ.l, REP_CAP;
