*=============================================================================*
* eqmain.mod: variables, bounds and equations, with TIMES's names.
*=============================================================================*
Positive Variable
   VAR_NCAP(R,T,P)         'new capacity of a process'
   VAR_ACT(R,V,T,P,S)      'overall activity of a process'
   VAR_CUMFLO(R,P,C,T,TT)  'cumulative process flow';
Free Variable
   OBJZ                    'discounted system cost';

* bnd_act.mod: VAR_ACT.LO from ACT_BND(LO); bnd_cum.mod: VAR_CUMFLO.UP from FLO_CUM(UP).
VAR_ACT.lo(R,VT(V,T),P,S) = ACT_BND(R,T,P,S,'LO');
VAR_CUMFLO.up(R,P,C,T,TT)$FLO_CUM(R,P,C,T,TT,'UP') = FLO_CUM(R,P,C,T,TT,'UP');

Equation
   EQ_OBJ                  'overall objective function'
   EQL_CAPACT(R,V,T,P,S)   'capacity utilisation (=L=)'
   EQG_COMBAL(R,T,C,S)     'commodity balance (=G=)'
   EQ_CUMFLO(R,P,C,T,TT)   'cumulative commodity flow limit (=E=)';

EQ_OBJ.. OBJZ =e= sum((R,T), DISC(T) * (
                     sum(PRC_CAP(P), NCAP_COST(P) * VAR_NCAP(R,T,P))
                   + sum((VT(V,T),P,S), D(T) * ACT_COST(P) * VAR_ACT(R,V,T,P,S))));

EQL_CAPACT(R,VT(V,T),PRC_CAP(P),S)..
   VAR_ACT(R,V,T,P,S) =l= NCAP_AF(P,S) * S_FRAC(S)
                          * (RESID(R,T,P) + sum(T2$LIVE(T,T2), VAR_NCAP(R,T2,P)));

EQG_COMBAL(R,T,C,S)..
   sum((VT(V,T),P), VAR_ACT(R,V,T,P,S)) =g= COM_PROJ(R,T,C) * S_FRAC(S);

EQ_CUMFLO(R,P,C,T,TT)$FLO_CUM(R,P,C,T,TT,'UP')..
   sum((VT(V,T2),S)$((T2.val >= T.val) and (T2.val <= TT.val)), D(T2) * VAR_ACT(R,V,T2,P,S))
   =e= VAR_CUMFLO(R,P,C,T,TT);
