"""Native-language sentences for the synthetic dialect corpus, eight per language.

espeak-ng reads text in the voice's own language, so every dialect of a language reads the same
sentences: a classifier cannot tell es from es-419 by the words, only by how they sound. The
first `TRAIN_SENTENCES` of each list are for training; the rest are held out for evaluation.
Mandarin is written in tone-numbered pinyin (espeak-ng's ``cmn-latn-pinyin`` voice reads it;
the Debian ``cmn`` dictionary lacks most characters), Hakka in tone-numbered romanisation.
"""

from __future__ import annotations

TRAIN_SENTENCES = 6

SENTENCES: dict[str, tuple[str, ...]] = {
    "en": (
        "The weather is lovely today, so we are walking to the park after lunch.",
        "Please remember to close the window before you leave the office tonight.",
        "My brother bought a new bicycle and rode it all the way to the river.",
        "The train to the city was late again because of the heavy snow.",
        "She cooked dinner for eleven people and everybody asked for more.",
        "We watched an old film about a lighthouse keeper on a lonely island.",
        "Could you tell me where the nearest post office is, please?",
        "The children laughed when the dog jumped into the swimming pool.",
    ),
    "es": (
        "Hoy hace muy buen tiempo, así que vamos a pasear por el parque después de comer.",
        "Por favor, recuerda cerrar la ventana antes de salir de la oficina esta noche.",
        "Mi hermano compró una bicicleta nueva y fue con ella hasta el río.",
        "El tren a la ciudad llegó tarde otra vez por culpa de la nieve.",
        "Ella preparó la cena para once personas y todos pidieron más.",
        "Vimos una película antigua sobre el guardián de un faro en una isla solitaria.",
        "¿Podría decirme dónde está la oficina de correos más cercana, por favor?",
        "Los niños se rieron cuando el perro saltó a la piscina.",
    ),
    "pt": (
        "Hoje o tempo está lindo, então vamos passear no parque depois do almoço.",
        "Por favor, lembre-se de fechar a janela antes de sair do escritório esta noite.",
        "O meu irmão comprou uma bicicleta nova e foi com ela até ao rio.",
        "O comboio para a cidade chegou atrasado outra vez por causa da neve.",
        "Ela fez o jantar para onze pessoas e todos pediram mais.",
        "Vimos um filme antigo sobre o guarda de um farol numa ilha solitária.",
        "Pode dizer-me onde fica a estação de correios mais próxima, por favor?",
        "As crianças riram quando o cão saltou para a piscina.",
    ),
    "fr": (
        "Il fait très beau aujourd'hui, alors nous allons nous promener au parc après le déjeuner.",
        "N'oublie pas de fermer la fenêtre avant de quitter le bureau ce soir.",
        "Mon frère a acheté un nouveau vélo et il est allé jusqu'à la rivière.",
        "Le train pour la ville avait encore du retard à cause de la neige.",
        "Elle a préparé le dîner pour soixante-dix invités et tout le monde en a redemandé.",
        "Nous avons regardé un vieux film sur le gardien d'un phare sur une île déserte.",
        "Pourriez-vous me dire où se trouve le bureau de poste le plus proche?",
        "Les enfants ont ri quand le chien a sauté dans la piscine, quatre-vingt-dix fois.",
    ),
    "cmn": (
        "jin1 tian1 tian1 qi4 hen3 hao3, wo3 men5 chi1 wan2 fan4 qu4 gong1 yuan2 san4 bu4.",
        "qing3 ni3 jin1 wan3 li2 kai1 ban4 gong1 shi4 zhi1 qian2 guan1 shang4 chuang1 hu5.",
        "wo3 ge1 ge5 mai3 le5 yi1 liang4 xin1 zi4 xing2 che1, yi1 zhi2 qi2 dao4 he2 bian1.",
        "qu4 cheng2 li3 de5 huo3 che1 you4 wan3 dian3 le5, yin1 wei4 xia4 le5 da4 xue3.",
        "ta1 gei3 shi2 yi1 ge4 ren2 zuo4 le5 wan3 fan4, mei3 ge4 ren2 dou1 hai2 xiang3 chi1.",
        "wo3 men5 kan4 le5 yi1 bu4 lao3 dian4 ying3, "
        "jiang3 de5 shi4 gu1 dao3 shang4 de5 deng1 ta3.",
        "qing3 wen4, zui4 jin4 de5 you2 ju2 zai4 na3 li3?",
        "gou3 tiao4 jin4 you2 yong3 chi2 de5 shi2 hou5, hai2 zi5 men5 dou1 xiao4 le5.",
    ),
    "yue": (
        "今日天氣好好，我哋食完晏晝去公園散步。",
        "你今晚離開辦公室之前，記得閂埋個窗。",
        "我哥哥買咗一架新單車，一直踩到河邊。",
        "去市區嘅火車又遲到，因為落咗大雪。",
        "佢幫十一個人煮晚飯，個個都話仲想食。",
        "我哋睇咗一套舊電影，講一個孤島上面嘅燈塔。",
        "唔該，請問最近嘅郵局喺邊度？",
        "隻狗跳落泳池嗰陣，啲細路全部笑晒。",
    ),
    "hak": (
        "kin1 pu1 thien1 hi4 an1 ho3, ngai2 teu1 sit8 pau3 fan4 hi4 kung1 yen2 san4 phu4.",
        "ngi2 kim1 am4 li2 khoi1 phan4 kung1 sit7 chii1 chhien2 ki4 tet7 kon1 chhung1 mun2.",
        "ngai2 a1 ko1 mai1 liau3 yit7 liong4 sin1 ka1 chhia1, yit7 tshit8 tshai3 to4 ho2 phien1.",
        "hi4 sang2 li1 ke4 fo3 chhia1 yu4 chhi2 to4, yin1 vi4 lok8 liau3 thai4 siet7.",
        "ki2 pun1 sip8 yit7 ke4 ngin2 chu3 am4 fan4, ke4 ke4 tu1 siong3 sit8.",
        "ngai2 teu1 khon4 liau3 yit7 thiau2 khiu4 thien4 yang3, kong3 ku1 to3 ke4 ten1 thap7.",
        "chhiang3 mun4, tshui4 khiun1 ke4 yu2 khiuk8 tshai4 nai4 vi7?",
        "keu3 thiau4 lok8 yu2 sui3 chhi2 ke4 sii2, sai4 ngin2 tu1 siau4 liau3.",
    ),
    "pl": (
        "Dzisiaj jest piękna pogoda, więc po obiedzie idziemy na spacer do parku.",
        "Pamiętaj, żeby zamknąć okno, zanim wyjdziesz dziś wieczorem z biura.",
        "Mój brat kupił nowy rower i pojechał na nim aż nad rzekę.",
        "Pociąg do miasta znowu się spóźnił z powodu śniegu.",
        "Ugotowała obiad dla jedenastu osób i wszyscy prosili o dokładkę.",
        "Obejrzeliśmy stary film o latarniku na samotnej wyspie.",
        "Czy może mi pan powiedzieć, gdzie jest najbliższa poczta?",
        "Dzieci się śmiały, kiedy pies wskoczył do basenu.",
    ),
    "ru": (
        "Сегодня прекрасная погода, поэтому после обеда мы пойдём гулять в парк.",
        "Пожалуйста, не забудь закрыть окно, прежде чем уйдёшь из офиса вечером.",
        "Мой брат купил новый велосипед и доехал на нём до самой реки.",
        "Поезд в город снова опоздал из-за сильного снегопада.",
        "Она приготовила ужин для одиннадцати человек, и все попросили добавки.",
        "Мы посмотрели старый фильм о смотрителе маяка на пустынном острове.",
        "Скажите, пожалуйста, где находится ближайшая почта?",
        "Дети засмеялись, когда собака прыгнула в бассейн.",
    ),
    "cs": (
        "Dnes je krásné počasí, takže po obědě půjdeme na procházku do parku.",
        "Nezapomeň prosím zavřít okno, než dnes večer odejdeš z kanceláře.",
        "Můj bratr si koupil nové kolo a dojel na něm až k řece.",
        "Vlak do města měl zase zpoždění kvůli sněhu.",
        "Uvařila večeři pro jedenáct lidí a všichni chtěli přidat.",
        "Dívali jsme se na starý film o strážci majáku na opuštěném ostrově.",
        "Můžete mi prosím říct, kde je nejbližší pošta?",
        "Děti se smály, když pes skočil do bazénu.",
    ),
    "vi": (
        "Hôm nay trời rất đẹp, nên sau bữa trưa chúng tôi sẽ đi dạo trong công viên.",
        "Nhớ đóng cửa sổ trước khi rời văn phòng tối nay nhé.",
        "Anh trai tôi mua một chiếc xe đạp mới và đạp đến tận bờ sông.",
        "Chuyến tàu vào thành phố lại bị trễ vì tuyết rơi dày.",
        "Cô ấy nấu bữa tối cho mười một người và ai cũng muốn ăn thêm.",
        "Chúng tôi đã xem một bộ phim cũ về người gác hải đăng trên một hòn đảo hoang.",
        "Xin lỗi, bưu điện gần nhất ở đâu vậy?",
        "Bọn trẻ cười phá lên khi con chó nhảy xuống hồ bơi.",
    ),
    "ar": (
        "الجو جميل جدا اليوم، لذلك سنتمشى في الحديقة بعد الغداء.",
        "من فضلك تذكر أن تغلق النافذة قبل أن تغادر المكتب الليلة.",
        "اشترى أخي دراجة جديدة وركبها حتى وصل إلى النهر.",
        "تأخر القطار إلى المدينة مرة أخرى بسبب الثلج الكثيف.",
        "طبخت العشاء لأحد عشر شخصا وطلب الجميع المزيد.",
        "شاهدنا فيلما قديما عن حارس منارة في جزيرة مهجورة.",
        "هل يمكنك أن تخبرني أين يقع أقرب مكتب بريد من فضلك؟",
        "ضحك الأطفال عندما قفز الكلب في حوض السباحة.",
    ),
    "he": (
        "מזג האוויר נהדר היום, אז אחרי ארוחת הצהריים נטייל בפארק.",
        "בבקשה אל תשכח לסגור את החלון לפני שאתה יוצא מהמשרד הערב.",
        "אחי קנה אופניים חדשים ורכב עליהם עד הנהר.",
        "הרכבת לעיר שוב איחרה בגלל השלג הכבד.",
        "היא בישלה ארוחת ערב לאחד עשר אנשים וכולם ביקשו עוד.",
        "ראינו סרט ישן על שומר מגדלור באי בודד.",
        "סליחה, איפה נמצא סניף הדואר הקרוב ביותר?",
        "הילדים צחקו כשהכלב קפץ לבריכה.",
    ),
}
