*=============================================================================*
* eqmain.mod: variables and equations of the TIMES-style LP.
*=============================================================================*
Parameter DISC(T) 'discount factor of a milestone year';
DISC(T) = 1 / (1 + G_DRATE) ** (T.val - smin(T2, T2.val));

Set LIVE(T,T2) 'capacity built in T2 is still alive in T';
LIVE(T,T2) = (T2.val <= T.val) and (T.val - T2.val < G_LIFE);

Positive Variable
   VAR_NCAP(R,T,P)   'new capacity'
   VAR_ACT(R,T,P,S)  'activity'
   VAR_TRD(R,R2,T,S) 'electricity sent from R to R2';
Free Variable
   OBJZ              'discounted system cost';

VAR_TRD.up(R,R2,T,S) = TRD_CAP(R,R2) * S_FRAC(S);
VAR_TRD.fx(R,R,T,S)  = 0;

Equation
   EQ_OBJ               'objective'
   EQ_CAPACT(R,T,P,S)   'activity within available capacity'
   EQ_BAL_ELC(R,T,S)    'electricity balance'
   EQ_BAL_HET(R,T,S)    'heat balance'
   EQ_PEAK(R,T)         'electricity peak reserve'
   EQ_POT(R,P)          'renewable potential'
   EQ_CO2(T)            'CO2 limit';

EQ_OBJ.. OBJZ =e= sum((R,T), DISC(T) * (
                     sum(P, 10 * NCAP_COST(R,P) * VAR_NCAP(R,T,P))
                   + sum((P,S), 10 * ACT_COST(R,P) * VAR_ACT(R,T,P,S))
                   + sum((R2,S), 10 * TRD_COST(R,R2) * VAR_TRD(R,R2,T,S))));

EQ_CAPACT(R,T,P,S)..
   VAR_ACT(R,T,P,S) =l= AF(P,S) * S_FRAC(S)
                        * (RESID(R,T,P) + sum(T2$LIVE(T,T2), VAR_NCAP(R,T2,P)));

EQ_BAL_ELC(R,T,S)..
   sum(P$PRC_OUT(P,'ELC'), VAR_ACT(R,T,P,S))
 - sum(P, ELC_USE(P) * VAR_ACT(R,T,P,S))
 + sum(R2, 0.97 * VAR_TRD(R2,R,T,S)) - sum(R2, VAR_TRD(R,R2,T,S))
   =g= DEM(R,T,'ELC',S);

EQ_BAL_HET(R,T,S)..
   sum(P$PRC_OUT(P,'HET'), VAR_ACT(R,T,P,S)) =g= DEM(R,T,'HET',S);

EQ_PEAK(R,T)..
   sum(P$PRC_OUT(P,'ELC'), PEAK_CONT(P)
       * (RESID(R,T,P) + sum(T2$LIVE(T,T2), VAR_NCAP(R,T2,P))))
   =g= 1.1 * smax(S, DEM(R,T,'ELC',S) / S_FRAC(S));

EQ_POT(R,P)$PRC_REN(P).. sum(T, VAR_NCAP(R,T,P)) =l= POTENTIAL(R,P);

EQ_CO2(T).. sum((R,P,S), ACT_EMIS(P) * VAR_ACT(R,T,P,S)) =l= CO2_CAP(T);

Model TIMES / all /;
