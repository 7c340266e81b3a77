"""The words that report speech, in every language linkbrief reads.

Data for the attribution model (``bot.pipeline.quotes``): reporting verbs ("said",
"sagte", "a déclaré", "заявил", "řekl", ...), the prepositions that credit a source
("according to", "selon", "по словам", "podle"), pronouns that stand for the last
named person, and words that can never be a speaker (function words, first person).

English, German, French, Spanish, Italian, Portuguese, Russian, Ukrainian, Czech and
Polish are covered. The lists are merged, not chosen by language: a page's declared
language is often missing or wrong, and no cue of one language is a common word in
another. Slavic verbs inflect for gender and number, so they are listed as stems
("řekl" covers řekl, řekla, řekli; "заяви" covers заявил, заявила, заявив).

Lookups are set membership on single lower-case tokens (or a prefix loop over a few
dozen stems), so their cost is linear in the text looked at.
"""

from __future__ import annotations

from bot.pipeline.sentences import word_set

# Single-word reporting verbs (lower case, exact).
CUE_WORDS = word_set(
    """
    said says say told tells tell added adds asked asks explained explains wrote writes
    noted notes stated states declared declares announced announces insisted insists
    argued argues claimed claims warned warns recalled recalls continued continues
    concluded concludes admitted admits acknowledged acknowledges replied replies
    responded responds answered answers observed observes remarked remarks commented
    comments tweeted posted emphasized emphasised emphasizes stressed stresses suggested
    suggests predicted predicts cautioned cautions conceded concedes confirmed confirms
    countered counters contended contends maintained maintains quipped joked laughed
    grinned sighed shouted urged urges vowed vows promised promises reported reports
    assured assures testified agreed agrees disagreed added recounted recounts explained
    wondered mused adding saying telling writing noting explaining emphasizing
    emphasising stressing arguing insisting warning claiming
    sagte sagt sagten sagen erklärte erklärt erklärten betonte betont meinte meint
    schrieb schreibt berichtete berichtet erzählte erzählt warnte warnt kritisierte
    zitiert zitierte klagt klagte ergänzte ergänzt unterstrich unterstreicht versicherte
    versichert bestätigte bestätigt forderte fordert verkündete fragte fragt
    begründete begründet rechtfertigt rechtfertigte murmelt murmelte räumte räumt fügte
    laut zufolge stellte stellt teilte teilten hält hielt bilanzierte urteilte
    dit déclare déclaré affirme affirmé explique expliqué indique indiqué précise précisé
    ajoute ajouté estime estimé juge jugé souligne souligné confie confié annonce annoncé
    conclut raconte raconté lance lancé réjoui assure assuré poursuit poursuivi rappelle
    rappelé note noté observe commente commenté dénonce dénoncé reconnaît reconnu
    insiste insisté martèle martelé déplore déploré regrette regretté selon écrit écrivit
    répond répondit répondu déclara affirma expliqua ajouta lança écrivit affirmant
    déclarant expliquant ajoutant précisant soulignant estimant assurant
    afirmando señalando diciendo explicando asegurando añadiendo dicendo affermando
    spiegando aggiungendo dizendo explicando acrescentando
    dijo dice dicen afirmó afirma aseguró asegura señaló señala explicó explica indicó
    indica añadió añade agregó agrega declaró declara manifestó manifiesta comentó
    comenta insistió precisó subrayó destacó destaca apuntó reconoció advirtió advierte
    consideró considera aclaró aclara bromeó sostuvo sostiene según relató reiteró
    detto dichiarato dichiara afferma affermato spiega spiegato aggiunge aggiunto
    sottolinea sottolineato conferma confermato racconta raccontato ricorda ricordato
    commenta commentato osserva precisato prosegue proseguito profetizza secondo
    scritto scrive rileva rilevato conclude annuncia annunciato dichiarato avverte
    disse diz dizem afirmou declarou explicou acrescentou acrescenta referiu sublinhou
    salientou garantiu garante contou comentou segundo frisou adiantou sustentou
    esclareceu considerou jurava justificou rematou perguntou alertou alerta defendeu
    defende admitiu reconheceu lembrou insistiu
    говорит говорят говорится считает считают полагает отмечает подчеркивает
    подчёркивает пишет передает передаёт цитирует уточнил уточнила уточнили
    вважає вважають каже кажуть пише наголошує зазначає переконана переконаний
    podle tvrdí říká říkal říkala říkával míní soudí píše popisuje vypráví
    według zdaniem mówi twierdzi uważa pisze zauważa podsumowuje ocenia
    """
)

# Inflecting verbs, as stems: a token starting with one of these is a cue.
CUE_STEMS: tuple[str, ...] = tuple(
    [
        "сказа",
        "заяви",
        "отмети",
        "подчеркну",
        "поясни",
        "добави",
        "сообщи",
        "написа",
        "объясн",
        "указа",
        "продолжи",
        "призна",
        "призва",
        "завери",
        "рассказа",
        "ответи",
        "уточни",
        "констатирова",
        "резюмирова",
        "пожаловал",
        "сказав",
        "сказал",
        "заявив",
        "заявил",
        "зазначи",
        "наголоси",
        "повідоми",
        "написав",
        "написал",
        "додав",
        "додал",
        "поясни",
        "розповіда",
        "розповів",
        "розповіл",
        "підкресли",
        "запевни",
        "закликав",
        "закликал",
        "відповів",
        "відповіл",
        "уточни",
        "проголоси",
        "řekl",
        "řekn",
        "uvedl",
        "uvedla",
        "uvedli",
        "dodal",
        "dodává",
        "prohlásil",
        "napsal",
        "vysvětl",
        "upozorn",
        "podotkl",
        "poznamenal",
        "zdůrazn",
        "sdělil",
        "komentoval",
        "vzkázal",
        "odmítl",
        "ocenil",
        "posteskl",
        "navázal",
        "ohodnotil",
        "prozradil",
        "varoval",
        "konstatoval",
        "doplnil",
        "powiedzia",
        "stwierdzi",
        "zaznaczy",
        "podkreśli",
        "dodał",
        "dodała",
        "dodali",
        "napisa",
        "oceni",
        "oświadczy",
        "przekonywa",
        "wskaza",
        "zauważy",
        "ogłosi",
        "poinformowa",
        "oznajmi",
        "przyzna",
        "zapewni",
        "ostrzeg",
        "tłumaczy",
        "podsumowa",
        "zaapelowa",
        "odpowiedzia",
        "przypomnia",
    ]
)

# Multi-word phrases that credit a source before its words ("according to X, ...").
ACCORDING_PHRASES: tuple[str, ...] = (
    "according to",
    "in the words of",
    "d'après",
    "de acuerdo con",
    "a juicio de",
    "de acordo com",
    "по словам",
    "по мнению",
    "по данным",
    "по информации",
    "за словами",
    "на думку",
    "за даними",
    "podle slov",
    "zdaniem",
    "według",
)
# Single words that do the same job ("selon X", "laut X", "podle X").
ACCORDING_WORDS = word_set("selon según secondo segundo laut podle według zdaniem")

# Subject pronouns (and the Romance/Slavic third-person forms): "he said" → last person.
PRONOUNS = word_set(
    """
    he she they it his her their
    er sie es
    il elle ils elles
    él ella ellos ellas
    lui lei loro egli ella
    ele ela eles elas
    он она они оно его её його її
    він вона вони воно
    on ona oni ono něj ní niego niej
    """
)
FIRST_PERSON = word_set(
    "i we me us my our ich wir je nous yo nosotros io noi eu nós я мы ми já my ja"
)

# Words that can start neither a name nor a speaker's description.
FUNCTION_WORDS = word_set(
    """
    as but and or so if when while during after before because since though although
    then also yet still even just only however meanwhile instead thus therefore
    this that these those there here what which who whom whose where why how
    we you i it its our your my their his her them him us me
    is are was were be been being do does did has have had can could will would
    should may might must shall to of in on at by for with from into about over
    not no nor
    und aber oder dass wenn als auch noch doch nur denn weil
    et mais ou que qui quand si donc car aussi puis
    y pero o que quien cuando si pues también
    e ma o che chi quando se anche poi
    mas ou que quem quando se também
    и а но или что как когда если также ещё еще
    і та але або що як коли якщо також ще
    a ale nebo že když jako také
    i ale lub że gdy jak także
    """
)

# Nouns for a job or a body: "the shortstop said", "a State Department spokesperson".
# A speaker phrase made only of these and adjectives names no one; it is resolved to
# the last named person when it is definite ("the shortstop"), kept as written when
# indefinite ("a spokeswoman").
ROLE_NOUNS = word_set(
    """
    spokesman spokeswoman spokesperson official officials minister secretary president deputy
    chairman chairwoman chair director executive chief ceo founder adviser advisor
    analyst analysts expert experts economist strategist researcher researchers scientist
    professor doctor lawyer attorney judge prosecutor police officer officers senator
    governor mayor ambassador diplomat envoy negotiator coach manager player captain
    shortstop pitcher striker goalkeeper actress actor singer star designer author
    writer editor reporter statement report study agency company firm group ministry
    department government office organization organisation union party committee
    council court board team club bank spokesmen source sources witness witnesses
    leader leaders chancellor premier commissioner representative lawmaker student
    teacher mother father resident residents fan fans member members worker workers
    sprecher sprecherin minister ministerin präsident präsidentin kanzlerin kanzler
    chef chefin direktor direktorin experte expertin trainer
    porte-parole ministre président présidente directeur directrice expert avocat
    portavoz ministro ministra presidente presidenta director directora experto
    portavoce ministro presidente direttore esperto
    porta-voz ministro ministra presidente diretor diretora especialista
    представитель министр президент глава директор эксперт политик дипломат посол
    пресс-секретарь спикер депутат генсек канцлер премьер губернатор посла
    представник міністр президент голова директор експерт політик дипломат посол
    речник прем'єр прем'єрка міністерка канцлер генсек
    mluvčí ministr ministryně prezident premiér ředitel expert analytik europoslanec
    expremiér kancléřka kancléř velvyslanec advokát
    rzecznik minister prezydent premier dyrektor ekspert analityk
    """
)
